"""Admin for customers and their no-shows (``orders.admin.customers``): a valid phone in E.164 (SPEC 2), the form
order intake looks customers up by; the tier, at stores with their own rules too; forgiving a no-show, with
the strikes' change permission."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from core.services import app_setting_set
from orders import services
from orders.models import AuditKind, AuditRecord, Customer, NoShowStrike, PackageStatus, TrustTier
from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse fixture
from orders.tests.factories import PASSWORD, CustomerFactory, UserFactory, staff_admin

pytestmark = pytest.mark.django_db


def change(admin_client, customer, phone):
    return admin_client.post(
        reverse("admin:orders_customer_change", args=[customer.pk]),
        {
            "name": customer.name,
            "phone": phone,
            "email": customer.email,
            "push_token": customer.push_token,
            "language": customer.language,
            "no_show_strikes-TOTAL_FORMS": "0",
            "no_show_strikes-INITIAL_FORMS": "0",
        },
    )


def test_a_phone_that_is_not_a_number_is_refused_and_nothing_changes(admin_client):
    customer = CustomerFactory()
    response = change(admin_client, customer, "call me maybe")
    assert response.status_code == 200
    assert "Enter a valid phone number" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).phone == customer.phone


def test_a_phone_written_the_local_way_is_stored_in_e164(admin_client):
    customer = CustomerFactory()
    response = change(admin_client, customer, "0532 123 45 67")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Customer.objects.get(pk=customer.pk).phone == "+905321234567"


def test_a_phone_typed_with_many_separators_is_taken_as_intake_takes_it(admin_client):
    customer = CustomerFactory()
    response = change(admin_client, customer, "0 (532) 123 - 45 - 67")  # 21 characters, longer than E.164 ever is
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Customer.objects.get(pk=customer.pk).phone == "+905321234567"
    page = admin_client.get(reverse("admin:orders_customer_change", args=[customer.pk])).content.decode()
    assert "Phone (E.164)" in page


def test_another_customers_phone_in_another_form_is_refused(admin_client):
    other = CustomerFactory(phone="+905321234567")
    customer = CustomerFactory()
    response = change(admin_client, customer, "0 532 123 4567")
    assert response.status_code == 200
    assert Customer.objects.get(pk=customer.pk).phone == customer.phone != other.phone


def test_a_landline_is_refused_when_entered_but_kept_while_other_fields_are_edited(admin_client):
    """The pickup code goes out by SMS, so a fixed line is refused when it is typed in; a customer stored with one
    before that rule can still have their name corrected without being asked for a new number first."""
    customer = CustomerFactory()
    response = change(admin_client, customer, "0212 222 33 44")
    assert response.status_code == 200 and "mobile number" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).phone == customer.phone
    Customer.objects.filter(pk=customer.pk).update(phone="+902122223344")
    customer.refresh_from_db()
    customer.name = "Corrected Name"
    response = change(admin_client, customer, "+902122223344")
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.phone) == ("Corrected Name", "+902122223344")


@pytest.mark.parametrize("term", ["şahin", "sahin", "AHMET ŞAHİN", "ahmet"])
def test_the_customer_search_ignores_turkish_letters_and_case(admin_client, term):
    CustomerFactory(name="Ahmet Şahin")
    CustomerFactory(name="Zeynep Kaya")
    page = admin_client.get(reverse("admin:orders_customer_changelist"), {"q": term}).content.decode()
    assert "Ahmet Şahin" in page and "Zeynep Kaya" not in page


def test_the_admin_customer_form_refuses_a_landline_too():
    from orders.admin.customers import CustomerForm

    form = CustomerForm(data={"name": "Elif", "phone": "0212 123 45 67", "email": "", "language": "tr"})
    assert not form.is_valid()
    assert form.errors["phone"] == [
        "Enter a mobile number that can receive SMS: the pickup code is sent by text message."
    ]
    form = CustomerForm(data={"name": "Elif", "phone": "0532 111 22 33", "email": "", "language": "tr"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+905321112233"


# --- forgiving a no-show ---------------------------------------------------------------------------------------


def strike_of(make_package):
    package = make_package(PackageStatus.CANCELLED)
    return NoShowStrike.objects.create(customer=package.order.customer, package=package)


def test_forgiving_on_the_customer_page_needs_the_strikes_change_permission(make_package):
    """The strikes' action needs orders.change_noshowstrike; the customer page's link asked orders.change_customer
    only, so a clerk who may edit customers' e-mail addresses could lift restrictions."""
    strike = strike_of(make_package)
    _, client = staff_admin("view_customer", "change_customer", "view_noshowstrike")
    page = client.get(reverse("admin:orders_customer_change", args=[strike.customer_id])).content.decode()
    assert "/forgive/" not in page
    url = reverse("admin:orders_customer_forgive_strike", args=[strike.customer_id, strike.pk])
    assert client.post(url, {"reason": "Goodwill"}).status_code == 403
    strike.refresh_from_db()
    assert strike.forgiven_at is None


def test_forgiving_on_the_customer_page_works_with_the_strikes_permission(make_package):
    strike = strike_of(make_package)
    _, client = staff_admin("view_customer", "view_noshowstrike", "change_noshowstrike")
    page = client.get(reverse("admin:orders_customer_change", args=[strike.customer_id])).content.decode()
    assert "/forgive/" in page
    url = reverse("admin:orders_customer_forgive_strike", args=[strike.customer_id, strike.pk])
    assert client.post(url, {"reason": "Goodwill"}).status_code == 302
    strike.refresh_from_db()
    assert strike.forgiven_reason == "Goodwill"


DAY = timedelta(days=1)


# --- admin ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_shows_tier_and_strikes_and_forgives_with_a_reason(admin_client, admin_user, no_show, customer):
    t0 = timezone.now()
    strikes = [no_show(t0 + day * DAY) for day in range(3)]
    change_url = reverse("admin:orders_customer_change", args=[customer.pk])
    page = admin_client.get(change_url).content.decode()
    assert "Restricted" in page
    for strike in strikes:
        assert strike.package.order.order_number in page or str(strike.package) in page
    forgive_url = reverse("admin:orders_customer_forgive_strike", args=[customer.pk, strikes[0].pk])
    assert forgive_url in page

    form = admin_client.get(forgive_url)
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    missing_reason = admin_client.post(forgive_url, {"reason": ""})
    assert missing_reason.status_code == 200
    assert not NoShowStrike.objects.filter(forgiven_at__isnull=False).exists()

    done = admin_client.post(forgive_url, {"reason": "customer was in hospital"})
    assert done.status_code == 302 and done["Location"] == change_url
    strikes[0].refresh_from_db()
    customer.refresh_from_db()
    assert strikes[0].forgiven_by == admin_user and customer.trust_tier == TrustTier.WATCH
    record = AuditRecord.objects.get(kind=AuditKind.STRIKE_FORGIVEN)
    assert record.actor == admin_user and record.channel == "admin" and record.reason == "customer was in hospital"
    assert forgive_url not in admin_client.get(change_url).content.decode()


@pytest.mark.django_db
def test_admin_forgive_needs_change_permission(client, no_show, customer):
    strike = no_show(timezone.now())
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.login(username="viewer", password=PASSWORD)
    url = reverse("admin:orders_customer_forgive_strike", args=[customer.pk, strike.pk])
    assert client.post(url, {"reason": "no"}).status_code == 403
    assert client.get(reverse("admin:orders_customer_forgive_strike", args=[customer.pk, 999999])).status_code == 403
    strike.refresh_from_db()
    assert strike.forgiven_at is None and not AuditRecord.objects.filter(kind=AuditKind.STRIKE_FORGIVEN).exists()


@pytest.mark.django_db
def test_admin_forgive_unknown_strike_or_customer_is_404(admin_client, no_show, customer):
    strike = no_show(timezone.now())
    other = CustomerFactory()
    assert (
        admin_client.get(reverse("admin:orders_customer_forgive_strike", args=[other.pk, strike.pk])).status_code == 404
    )
    assert (
        admin_client.get(reverse("admin:orders_customer_forgive_strike", args=["not-a-uuid", strike.pk])).status_code
        == 404
    )


@pytest.mark.django_db
def test_admin_action_forgives_selected_strikes(admin_client, admin_user, no_show, customer):
    t0 = timezone.now()
    strikes = [no_show(t0 + day * DAY) for day in range(3)]
    url = reverse("admin:orders_noshowstrike_changelist")
    selected = {"action": "forgive_strikes", "_selected_action": [s.pk for s in strikes[:2]]}
    confirm = admin_client.post(url, selected)
    assert confirm.status_code == 200 and 'name="reason"' in confirm.content.decode()
    assert not NoShowStrike.objects.filter(forgiven_at__isnull=False).exists()

    done = admin_client.post(url, {**selected, "apply": "1", "reason": "goodwill"})
    assert done.status_code == 302
    assert set(NoShowStrike.objects.filter(forgiven_at__isnull=False).values_list("pk", flat=True)) == {
        strikes[0].pk,
        strikes[1].pk,
    }
    assert AuditRecord.objects.filter(kind=AuditKind.STRIKE_FORGIVEN, actor=admin_user).count() == 2
    assert Customer.objects.get(pk=customer.pk).trust_tier == TrustTier.GOOD


@pytest.mark.django_db
def test_admin_customer_page_shows_the_tier_at_each_store_with_its_own_settings(
    admin_client, customer_no_show, customer, store, other_store
):
    t0 = timezone.now()
    customer_no_show(t0)
    customer_no_show(t0 + DAY)
    url = reverse("admin:orders_customer_change", args=[customer.pk])
    page = admin_client.get(url).content.decode()
    assert "None: every store uses the global no-show settings." in page

    app_setting_set(key="NO_SHOW_RESTRICT_THRESHOLD", value=2, store=store)
    app_setting_set(key="NO_SHOW_WATCH_THRESHOLD", value=2, store=other_store)  # the global value: no own rules
    assert services.stores_with_own_tier_rules() == [store]
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    field = re.search(r'field-tier_at_stores.*?<div class="readonly">(.*?)</div>', page, re.S).group(1)
    assert field.startswith("IST01 Istanbul Kanyon: Restricted until") and "(Europe/Istanbul)" in field
    assert "ANK01" not in field
    page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "IST01 Istanbul Kanyon: Kısıtlı (" in page
