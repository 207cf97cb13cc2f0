"""Content-Security-Policy (django-csp, config/settings/base.py): the header on every kind of answer, and no inline
script or style left on the pages this project renders (the browser side: test_content_security_policy_browser.py).
"""

import re

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from orders.models import NoShowStrike, PackageStatus
from orders.tests.factories import PASSWORD


def directives(header: str) -> dict[str, list[str]]:
    """``"default-src 'self'; img-src 'self' data:"`` -> ``{"default-src": ["'self'"], "img-src": [...]}``."""
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_strict(header: str | None) -> None:
    assert header, "no Content-Security-Policy header"
    policy = directives(header)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header


# --- the header on every kind of answer (test client) ---------------------------------------------------------------


@pytest.mark.django_db
def test_every_kind_of_answer_carries_the_policy(client, admin_client, make_package, employee):
    package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    token = client.post(
        "/api/auth/token/", {"username": employee.username, "password": PASSWORD}, content_type="application/json"
    ).json()["access"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    answers = {
        "login page": client.get(reverse("login")),
        "staff page redirect to login": client.get("/packages/"),
        "API JSON": client.get(f"/api/packages/{package.pk}/", **bearer),
        "API error": client.get("/api/packages/", HTTP_AUTHORIZATION="Bearer not-a-token"),
        "API 404": client.get("/api/no-such-thing/"),
        "page 404": client.get("/no-such-page/"),
        "API schema": client.get("/api/schema/"),
        "API docs": client.get("/api/docs/"),
        "API docs script": client.get("/api/docs/?script="),
        "health probe": client.get("/healthz"),
        "admin login": client.get("/admin/login/"),
        "admin index": admin_client.get("/admin/"),
        "admin changelist": admin_client.get(reverse("admin:orders_package_changelist")),
    }
    expected_status = {"API error": 401, "API 404": 404, "page 404": 404, "staff page redirect to login": 302}
    for name, response in answers.items():
        assert response.status_code == expected_status.get(name, 200), name
        assert_strict(response.headers.get("Content-Security-Policy"))
    client.force_login(employee)
    assert_strict(client.get("/packages/").headers.get("Content-Security-Policy"))


@pytest.mark.django_db
def test_the_api_docs_page_has_no_inline_script_or_style(client):
    """Swagger UI's page names its start-up script by URL (drf-spectacular's split view) and its styles by file."""
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all("src=" in attributes and not body.strip() for attributes, body in scripts)
    assert "<style" not in page and "style=" not in page
    script_url = re.findall(r'<script src="([^"]*script=[^"]*)"', page)
    assert script_url == ["/api/docs/?script="]
    script = client.get(script_url[0].replace("&amp;", "&"))
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    assert '"validatorUrl": null' in script.content.decode()  # no badge image from swagger.io
    assert client.get("/api/schema/?format=json").json()["openapi"].startswith("3.")


def inline_code(html: str) -> list[str]:
    """Inline scripts (not JSON data blocks), <style> elements and style attributes in a page."""
    found = [
        body.strip()[:80]
        for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
        if body.strip() and "application/json" not in attributes
    ]
    found += re.findall(r"<style\b", html) + re.findall(r"\sstyle=\"[^\"]*\"", html)
    found += re.findall(r"\son[a-z]+=\"", html)
    return found


@pytest.mark.django_db
def test_our_admin_pages_have_no_inline_script_or_style(admin_client, make_package):
    package = make_package(PackageStatus.CANCELLED)
    strike = NoShowStrike.objects.create(customer=package.order.customer, package=package)
    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    task = PeriodicTask.objects.create(name="nightly", task="orders.expire_unclaimed_packages", crontab=crontab)
    pages = [
        reverse("admin:index"),
        reverse("admin:orders_package_changelist"),
        reverse("admin:orders_package_change", args=[package.pk]),  # the audit inline
        reverse("admin:orders_customer_change", args=[strike.customer_id]),
        reverse("admin:orders_customer_forgive_strike", args=[strike.customer_id, strike.pk]),
        reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]),
        reverse("admin:django_celery_beat_periodictask_add"),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url
