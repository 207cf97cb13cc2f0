"""A webhook endpoint's signing secret is shown once, when it is created, and never again: not on the change page, not
to a read-only administrator. Leaving the field empty keeps it; a new value replaces it."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from notifications.models import WebhookEndpoint
from orders.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTAx"


@pytest.fixture
def endpoint():
    return WebhookEndpoint.objects.create(url="https://hooks.example.com/cc", secret=SECRET)


def form(**changes):
    return {"url": "https://hooks.example.com/cc", "description": "", "secret": "", "is_active": "on", **changes}


def test_the_change_page_does_not_show_the_secret(admin_client, endpoint):
    html = admin_client.get(reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])).content.decode()
    assert SECRET not in html and SECRET[6:] not in html
    assert f"whsec_…{SECRET[-4:]}" in html  # which secret it is, not the secret


@pytest.mark.parametrize("language", ["en", "tr"])
def test_a_read_only_administrator_does_not_see_the_secret(endpoint, language):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookendpoint"))
    client = Client()
    client.force_login(viewer)
    response = client.get(
        reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk]), HTTP_ACCEPT_LANGUAGE=language
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert SECRET not in html and SECRET[6:] not in html
    assert f"whsec_…{SECRET[-4:]}" in html


def test_saving_with_the_secret_left_empty_keeps_it(admin_client, endpoint):
    url = reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    response = admin_client.post(url, form(description="ERP"))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.secret) == ("ERP", SECRET)


def test_a_new_secret_replaces_the_old_one_and_a_bad_one_is_refused(admin_client, endpoint):
    url = reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    response = admin_client.post(url, form(secret="whsec_***"))
    assert response.status_code == 200 and "Standard Webhooks secret" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret == SECRET
    assert admin_client.post(url, form(secret="whsec_bmV3LXNlY3JldA==")).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == "whsec_bmV3LXNlY3JldA=="


def test_the_add_and_change_pages_say_so_in_turkish(admin_client, endpoint):
    add = admin_client.get(reverse("admin:notifications_webhookendpoint_add"), HTTP_ACCEPT_LANGUAGE="tr")
    change = admin_client.get(
        reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk]), HTTP_ACCEPT_LANGUAGE="tr"
    )
    assert "kaydedildikten sonra bir daha gösterilmez" in add.content.decode()
    assert f"mevcut gizli anahtar (whsec_…{SECRET[-4:]}) korunur" in change.content.decode()
