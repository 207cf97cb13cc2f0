"""The plaintext code is nowhere but in the customer's message (SPEC 4)."""

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from notifications.models import WebhookEndpoint
from orders import services
from orders.models import PackageStatus


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
