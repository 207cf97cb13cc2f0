"""The plaintext code is nowhere but in the customer's message (SPEC 4): no column holds it, no log line, no admin
page shows it or its hash."""

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from notifications.models import WebhookEndpoint
from orders import services
from orders.models import PackageStatus
from otp.models import PickupCode


def every_stored_value():
    """Every value of every column of every row in the database, as text."""
    for model in apps.get_models():
        for row in model.objects.all().values():
            for value in row.values():
                if isinstance(value, bytes | memoryview):
                    yield model._meta.label, bytes(value).decode("latin-1")
                elif isinstance(value, dict | list):
                    yield model._meta.label, json.dumps(value)
                elif value is not None:
                    yield model._meta.label, str(value)


@pytest.mark.django_db
def test_after_ready_resend_and_deliver_no_column_holds_a_code(make_package, employee, issued_code, caplog):
    caplog.set_level(logging.DEBUG)
    WebhookEndpoint.objects.create(url="https://hooks.example.com/w", secret="whsec_c2VjcmV0")
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    codes = [issued_code(package)]
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        services.package_resend_code(package=package, actor=employee, channel="api")
        codes.append(issued_code(package))
        services.package_deliver(package=package, actor=employee, channel="api", otp_value=codes[-1])
    package.refresh_from_db()
    assert package.status == PackageStatus.DELIVERED
    leaks = [(label, code) for label, value in every_stored_value() for code in codes if code in value]
    assert leaks == []
    assert not any(code in record.getMessage() for record in caplog.records for code in codes)


@pytest.mark.django_db
def test_changelists_and_change_pages_render_without_code_or_hash(admin_client, make_package, issued_code):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    code_hash = PickupCode.objects.get(package=package).code_hash
    pages = []
    for model in admin.site._registry:
        if model._meta.app_label not in {"core", "orders", "otp", "notifications"}:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        pages.append(admin_client.get(url))
        pages.append(admin_client.get(url, {"q": "IST"}))
        first = model.objects.first()
        if first is not None:
            pages.append(
                admin_client.get(
                    reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[first.pk])
                )
            )
    assert [p.status_code for p in pages] == [200] * len(pages)
    for page in pages:
        html = page.content.decode()
        assert code not in html and code_hash not in html
