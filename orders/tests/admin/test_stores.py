"""Admin for stores and their staff memberships (``orders.admin.stores``): a malformed choice is a form error, not a
500."""

import pytest
from django.urls import reverse

from orders.models import StaffMembership, Store

pytestmark = pytest.mark.django_db


# --- malformed input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "store_value"), [("abc", "xyz"), ("1e9", "00000000-0000-0000-0000-00000000000g")])
def test_a_malformed_user_or_store_id_is_a_form_error(admin_client, store, user, store_value):
    """The autocomplete widget looked the posted value up to show it again: ValueError, a 500."""
    before = StaffMembership.objects.count()
    response = admin_client.post(
        reverse("admin:orders_staffmembership_add"), {"user": user, "store": store_value, "role": "manager"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert StaffMembership.objects.count() == before
    response = admin_client.post(
        reverse("admin:orders_store_change", args=[store.pk]),
        {
            "code": store.code,
            "name": store.name,
            "timezone": store.timezone,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": user,
            "memberships-0-role": "employee",
        },
    )
    assert response.status_code == 200
    assert StaffMembership.objects.count() == before
    assert Store.objects.get(pk=store.pk).name == store.name


@pytest.mark.parametrize("initial", ["-1", "-5", "0"])
def test_a_management_form_that_counts_fewer_existing_rows_than_posted_is_a_form_error(
    admin_client, store, employee, initial
):
    """Django trusts INITIAL_FORMS: a negative one made the posted existing memberships new rows, and their
    unique (user, store) a 500 (IntegrityError). The page comes back with an error; nothing changes."""
    membership = StaffMembership.objects.get(user=employee, store=store)
    response = admin_client.post(
        reverse("admin:orders_store_change", args=[store.pk]),
        {
            "code": store.code,
            "name": "Renamed",
            "timezone": store.timezone,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": initial,
            "memberships-0-id": str(membership.pk),
            "memberships-0-store": str(store.pk),
            "memberships-0-user": str(employee.pk),
            "memberships-0-role": "manager",
        },
    )
    assert response.status_code == 200
    assert list(StaffMembership.objects.filter(store=store).values_list("user", "role")) == [
        (employee.pk, membership.role)
    ]
    assert Store.objects.get(pk=store.pk).name == store.name


def test_two_rows_given_one_user_is_a_form_error(admin_client, store, employee, manager):
    first = StaffMembership.objects.get(user=employee, store=store)
    second = StaffMembership.objects.get(user=manager, store=store)
    response = admin_client.post(
        reverse("admin:orders_store_change", args=[store.pk]),
        {
            "code": store.code,
            "name": store.name,
            "timezone": store.timezone,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "2",
            "memberships-0-id": str(first.pk),
            "memberships-0-store": str(store.pk),
            "memberships-0-user": str(employee.pk),
            "memberships-0-role": first.role,
            "memberships-1-id": str(second.pk),
            "memberships-1-store": str(store.pk),
            "memberships-1-user": str(employee.pk),
            "memberships-1-role": second.role,
        },
    )
    assert response.status_code == 200
    assert StaffMembership.objects.get(pk=second.pk).user_id == manager.pk
