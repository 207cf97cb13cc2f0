"""A customer edited in admin keeps a valid phone in E.164 (SPEC 2), the form order intake looks customers up by."""

import pytest
from django.urls import reverse

from orders.models import Customer
from orders.tests.factories import CustomerFactory

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
