"""Two staff-page details: the filter counts after an in-place command, and "system" in the user's language.

A command run from the list without a reload answers, as htmx's out-of-band swaps, the package's new row *and*
the list's fresh status counts (SPEC 10: "filters by status with counts"), so the filter bar never lies until the
next reload; the page's rows again when the package no longer matches the list's search and status filter, so a
filtered list drops it; and the search result note and the pager rendered for the list's new total, so "3 packages
match" and "Page 2 of 3" do not keep their old numbers once a row has left.
An audit record without a user shows "system" translated, on the package page and in the admin.
"""

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import translation

from core.services import app_setting_set
from orders.models import AuditRecord, Package, PackageStatus
from orders.selectors import ALL_COUNT, NEEDS_ACTION, NEEDS_ACTION_STATUSES
from orders.tests.factories import PackageFactory
from orders.tests.htmx import HTMX, closes_dialog, counts_of, flash_of, oob, oob_inner, row_of, text
from orders.views.listing import PAGE_SIZE

S = PackageStatus


def list_url(**query):
    url = reverse("staff:package-list")
    return f"{url}?{urlencode(query)}" if query else url


def counts_on_the_page(client, url):
    """The filter bar of the list page as {data-filter key: count}."""
    page = client.get(url).content.decode()
    links = re.findall(
        r'<a [^>]*class="filter[^"]*" data-filter="([^"]+)"[^>]*>\s*[^<]+? <span class="count">(\d+)</span>', page
    )
    return {key: int(count) for key, count in links}


def expected(expires_today=0, **counts):
    """The filter bar's counts: every status, "all", and "Expires today" (ready packages whose hold ends today; the
    packages of these tests are held for days)."""
    statuses = {value: 0 for value in S.values}
    statuses.update(counts)
    needs_action = sum(statuses[value] for value in NEEDS_ACTION_STATUSES)
    return {ALL_COUNT: sum(statuses.values()), NEEDS_ACTION: needs_action, **statuses, "expires_today": expires_today}


def stays_in_the_list(html, package):
    """The answer puts the package's row in place: it still matches the list's search and status filter."""
    return oob(html, f"row-{package.pk}") is not None


def left_the_list(html, package):
    """The answer gives the page's rows again, without the package: it no longer matches the list."""
    return oob(html, "rows") is not None and row_of(html, package) is None


def command_in_place(client, package, command, next_url):
    """A command button on the list, as htmx posts it: the answer updates the list in place."""
    return client.post(
        reverse("staff:package-command", args=[package.pk]),
        {"command": command, "next": next_url},
        **HTMX,
    )


# --- the counts after an in-place command --------------------------------------------------------


def test_the_list_marks_each_filter_with_its_count_key(as_employee, make_package):
    make_package(S.WAITING)
    make_package(S.READY_FOR_CUSTOMER_PICKUP)
    assert counts_on_the_page(as_employee, list_url()) == expected(waiting=1, ready_for_customer_pickup=1)


def test_a_row_command_in_place_answers_the_fresh_counts(as_employee, make_package, other_store):
    package = make_package(S.WAITING)
    make_package(S.WAITING)
    make_package(S.READY_FOR_CUSTOMER_PICKUP)
    make_package(S.WAITING, at_store=other_store)  # another store's list: never counted here
    before = counts_on_the_page(as_employee, list_url())
    assert before == expected(waiting=2, ready_for_customer_pickup=1)

    response = command_in_place(as_employee, package, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", list_url())
    assert response.status_code == 200
    html = text(response)
    assert flash_of(html) == ["Packaging completed."] and "Packed All Items" in row_of(html, package)
    assert counts_of(html) == expected(waiting=1, packed_all_items=1, ready_for_customer_pickup=1)
    # The same numbers the page shows after a reload.
    assert counts_of(html) == counts_on_the_page(as_employee, list_url())
    package.refresh_from_db()
    assert package.status == S.PACKED_ALL_ITEMS


def test_delivering_in_place_moves_one_from_ready_to_delivered(as_employee, make_package, issued_code):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_employee.post(
        reverse("staff:package-deliver", args=[package.pk]),
        {"otp": issued_code(package), "next": list_url()},
        **HTMX,
    )
    html = text(response)
    assert closes_dialog(html)
    assert flash_of(html) == [f"Package delivered: hand over {package.order.order_number}, 1 item."]
    assert counts_of(html) == expected(ready_for_customer_pickup=1, delivered=1)
    package.refresh_from_db()
    assert package.status == S.DELIVERED


def test_cancelling_in_place_counts_the_cancelled_package(as_manager, make_package):
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    response = as_manager.post(
        reverse("staff:package-cancel", args=[package.pk]),
        {"reason": "Box damaged", "next": list_url(status=S.READY_FOR_CUSTOMER_PICKUP)},
        **HTMX,
    )
    html = text(response)
    assert closes_dialog(html) and flash_of(html) == ["Package cancelled."]
    # The status filter of the list does not narrow its counts: every status is counted, as on the page.
    assert counts_of(html) == expected(cancelled=1)
    package.refresh_from_db()
    assert package.status == S.CANCELLED


def test_the_counts_follow_the_search_of_the_list(as_employee, make_package):
    package = make_package(S.WAITING, order__customer__name="Deniz Kaya")
    make_package(S.WAITING, order__customer__name="Deniz Kaya")
    make_package(S.WAITING, order__customer__name="Ali Demir")
    searched = list_url(store="IST01", q="kaya")
    response = command_in_place(as_employee, package, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", searched)
    html = text(response)
    assert counts_of(html) == expected(waiting=1, packed_all_items=1)
    assert counts_of(html) == counts_on_the_page(as_employee, searched)


def test_a_refused_command_changes_no_count(as_employee, make_package):
    package = make_package(S.WAITING)
    response = command_in_place(as_employee, package, "READY_FOR_PICKUP", list_url())
    assert response.status_code == 409  # not from this state
    # The row and counts as they are (the package may have moved on in another tab): here, unchanged.
    html = text(response)
    assert "does not apply" in flash_of(html)[0] and counts_of(html) == expected(waiting=1)
    package.refresh_from_db()
    assert package.status == S.WAITING


def test_without_javascript_the_list_is_reloaded_with_the_counts(as_employee, make_package):
    package = make_package(S.WAITING)
    response = as_employee.post(
        reverse("staff:package-command", args=[package.pk]),
        {"command": "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "next": list_url()},
    )
    assert response.status_code == 302 and response["Location"] == list_url()
    assert counts_on_the_page(as_employee, list_url()) == expected(packed_all_items=1)


# --- whether the row still belongs in the list ---------------------------------------------------


def test_a_row_leaves_a_status_filtered_list_it_no_longer_matches(as_employee, make_package):
    package = make_package(S.WAITING)
    make_package(S.WAITING)
    waiting = list_url(store="IST01", status=S.WAITING)
    response = command_in_place(as_employee, package, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", waiting)
    assert response.status_code == 200
    html = text(response)
    assert flash_of(html) == ["Packaging completed."] and left_the_list(html, package)
    assert counts_of(html) == expected(waiting=1, packed_all_items=1)
    # What a reload shows: the package is gone from the "Waiting" list.
    assert f'id="row-{package.pk}"' not in as_employee.get(waiting).content.decode()
    package.refresh_from_db()
    assert package.status == S.PACKED_ALL_ITEMS


def test_a_row_stays_in_an_unfiltered_list(as_employee, make_package):
    package = make_package(S.WAITING)
    response = command_in_place(as_employee, package, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", list_url(store="IST01"))
    html = text(response)
    assert flash_of(html) and stays_in_the_list(html, package)
    assert f'id="row-{package.pk}"' in as_employee.get(list_url(store="IST01")).content.decode()


def test_a_row_stays_in_a_list_whose_status_it_still_has(as_manager, make_package, store):
    app_setting_set(key="OTP_RESEND_COOLDOWN_SECONDS", value=0, store=store)
    package = make_package(S.READY_FOR_CUSTOMER_PICKUP)
    ready = list_url(status=S.READY_FOR_CUSTOMER_PICKUP)
    response = command_in_place(as_manager, package, "RESEND_PICKUP_CODE", ready)
    html = text(response)
    assert flash_of(html) and stays_in_the_list(html, package)
    package.refresh_from_db()
    assert package.status == S.READY_FOR_CUSTOMER_PICKUP


def test_a_row_stays_in_a_search_it_still_matches(as_employee, make_package):
    package = make_package(S.WAITING, order__customer__name="Deniz Kaya")
    make_package(S.WAITING, order__customer__name="Ali Demir")
    searched = list_url(store="IST01", q="kaya")
    response = command_in_place(as_employee, package, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", searched)
    html = text(response)
    assert flash_of(html) and stays_in_the_list(html, package)
    assert counts_of(html) == expected(packed_all_items=1)
    # A search together with a status filter the package has left: out of that list.
    other = make_package(S.WAITING, order__customer__name="Deniz Kaya")
    narrowed = list_url(store="IST01", q="kaya", status=S.WAITING)
    html = text(command_in_place(as_employee, other, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", narrowed))
    assert flash_of(html) and left_the_list(html, package)
    assert counts_of(html) == expected(packed_all_items=2)


def test_a_refused_command_answers_no_list_state(as_employee, make_package):
    package = make_package(S.WAITING)
    response = command_in_place(as_employee, package, "READY_FOR_PICKUP", list_url(status=S.WAITING))
    assert response.status_code == 409
    assert stays_in_the_list(text(response), package)  # refused: still waiting, still in the "Waiting" list


# --- the search result note and the pager after an in-place command -------------------------------


def holder_on_the_page(client, url, name):
    """What the list page shows inside its ``list-<name>`` holder (the note or the pager), which an answer's
    out-of-band swap refills."""
    found = re.search(
        rf'<div id="list-{name}"[^>]*>(.*?)</div>\s*(?:<a|</div>|<p|$)', client.get(url).content.decode(), re.S
    )
    assert found, f"no list-{name} holder on {url}"
    return found.group(1).strip()


def newest_first(store):
    """The store's packages in the list's order, to know which one a page shows."""
    return list(Package.objects.filter(store=store).order_by("-created_at", "-pk"))


@pytest.mark.parametrize(
    "language,two,one",
    [
        ("en", "2 packages match “kaya”.", "1 package matches “kaya”."),
        ("tr", "“kaya” ile eşleşen 2 paket var.", "“kaya” ile eşleşen 1 paket var."),
    ],
)
def test_the_result_note_counts_what_is_left_of_a_searched_list(
    as_employee, make_package, settings, language, two, one
):
    as_employee.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    package = make_package(S.WAITING, order__customer__name="Deniz Kaya")
    make_package(S.WAITING, order__customer__name="Deniz Kaya")
    make_package(S.WAITING, order__customer__name="Ali Demir")
    searched = list_url(store="IST01", q="kaya", status=S.WAITING)
    assert holder_on_the_page(as_employee, searched, "note") == f'<p class="result-note">{two}</p>'

    html = text(command_in_place(as_employee, package, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", searched))
    assert flash_of(html) and left_the_list(html, package)
    assert oob_inner(html, "list-note") == f'<p class="result-note">{one}</p>'
    assert oob_inner(html, "list-note") == holder_on_the_page(as_employee, searched, "note")  # what a reload shows
    assert oob_inner(html, "list-pager") == ""


def test_the_result_note_stays_when_the_row_stays(as_employee, make_package):
    package = make_package(S.WAITING, order__customer__name="Deniz Kaya")
    searched = list_url(store="IST01", q="kaya")
    html = text(command_in_place(as_employee, package, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", searched))
    assert stays_in_the_list(html, package)
    assert oob_inner(html, "list-note") == '<p class="result-note">1 package matches “kaya”.</p>'


def test_a_list_without_a_search_answers_no_note(as_employee, make_package):
    package = make_package(S.WAITING)
    waiting = list_url(store="IST01", status=S.WAITING)
    html = text(command_in_place(as_employee, package, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", waiting))
    assert left_the_list(html, package)
    assert oob_inner(html, "list-note") == "" == holder_on_the_page(as_employee, waiting, "note")


def test_the_pager_counts_the_pages_left(as_employee, store):
    PackageFactory.create_batch(2 * PAGE_SIZE + 1, order__store=store)
    on_page_two = newest_first(store)[PAGE_SIZE]
    second = list_url(store="IST01", status=S.WAITING, page=2)
    before = holder_on_the_page(as_employee, second, "pager")
    assert "Page 2 of 3" in before and 'rel="next"' in before

    html = text(command_in_place(as_employee, on_page_two, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", second))
    assert flash_of(html) and left_the_list(html, on_page_two)
    assert "Page 2 of 2" in oob_inner(html, "list-pager") and 'rel="next"' not in oob_inner(html, "list-pager")
    assert 'rel="prev" href="?store=IST01&amp;status=waiting&amp;page=1"' in oob_inner(html, "list-pager")
    assert oob_inner(html, "list-pager") == holder_on_the_page(as_employee, second, "pager")  # what a reload shows


def test_the_pager_goes_when_one_page_is_left(as_employee, store):
    PackageFactory.create_batch(PAGE_SIZE + 1, order__store=store)
    waiting = list_url(store="IST01", status=S.WAITING)
    assert "Page 1 of 2" in holder_on_the_page(as_employee, waiting, "pager")
    first = newest_first(store)[0]
    html = text(command_in_place(as_employee, first, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", waiting))
    assert left_the_list(html, first)
    assert oob_inner(html, "list-pager") == "" == holder_on_the_page(as_employee, waiting, "pager")


def test_a_page_whose_last_row_left_is_loaded_again(as_employee, store):
    """Rows do not move up between pages in place: an emptied last page is reloaded (it shows the new last page)."""
    PackageFactory.create_batch(PAGE_SIZE + 1, order__store=store)
    alone = newest_first(store)[PAGE_SIZE]
    second = list_url(store="IST01", status=S.WAITING, page=2)
    response = command_in_place(as_employee, alone, "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", second)
    assert response.status_code == 200
    assert response["HX-Redirect"] == second
    alone.refresh_from_db()
    assert alone.status == S.PACKED_ALL_ITEMS
    page = as_employee.get(second).content.decode()
    assert "Packaging completed." in page  # the message waits for the reloaded page
    assert page.count('<tr id="row-') == PAGE_SIZE and "Page 1 of" not in page


# --- "system" in the user's language ---------------------------------------------------------------


def system_record(package):
    record = AuditRecord.objects.filter(package=package, actor=None).first()
    assert record is not None, "make_package(CANCELLED) cancels as the system"
    return record


def test_actor_display_is_translated(make_package, employee):
    package = make_package(S.CANCELLED)
    record = system_record(package)
    with translation.override("tr"):
        assert record.actor_display == "sistem"
    with translation.override("en"):
        assert record.actor_display == "system"
    make_package(S.PACKED_ALL_ITEMS)  # packed by the employee
    by_user = AuditRecord.objects.exclude(actor=None).first()
    with translation.override("tr"):
        assert by_user.actor_display == employee.get_username()


@pytest.mark.parametrize("language,word", [("en", "system"), ("tr", "sistem")])
def test_the_package_page_shows_system_in_the_users_language(as_employee, make_package, settings, language, word):
    package = make_package(S.CANCELLED)
    as_employee.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = as_employee.get(reverse("staff:package-detail", args=[package.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    assert re.search(rf'<div class="small muted">{word} · ', page)


@pytest.mark.parametrize("language,word", [("en", "system"), ("tr", "sistem")])
def test_the_admin_shows_system_in_the_users_language(admin_client, make_package, settings, language, word):
    package = make_package(S.CANCELLED)
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = admin_client.get(reverse("admin:orders_auditrecord_changelist"), {"package__id__exact": package.pk})
    assert response.status_code == 200
    cells = re.findall(r'<td class="field-actor_display">([^<]*)</td>', response.content.decode())
    assert cells and set(cells) == {word}
