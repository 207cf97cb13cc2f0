"""Admin's application-settings screen (SPEC 5, ``core.admin_settings``): per scope, every key with its value in
force, its source and meaning, typed widgets, the same validation as the service."""

import re

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.utils import timezone

from core.appsettings import SPECS, get_setting
from core.models import AppSetting, AppSettingsVersion
from core.services import app_setting_set
from orders import services
from orders.models import PackageStatus
from orders.tests.factories import StoreFactory
from otp.models import PickupCode

SCREEN = "/admin/core/appsetting/"


def rows(html: str) -> dict[str, dict[str, str]]:
    """Each key's row of the screen as text: its value in force, its source, and the note under the source (what
    holds without the store's own value, or which stores have their own)."""
    found = {}
    for key, body in re.findall(r'<tr id="setting-(\w+)" data-source="\w+">(.*?)</tr>', html, re.S):
        value = re.search(r'<td class="value-in-force">(.*?)</td>', body, re.S)[1].strip()
        source, _, note = re.search(r'<td class="source">(.*?)</td>', body, re.S)[1].partition('<div class="help">')
        found[key] = {"value": value, "source": source.strip(), "note": re.sub(r"<[^>]+>", "", note).strip()}
    return found


def token():
    return AppSettingsVersion.objects.values_list("token", flat=True).first()


@pytest.mark.django_db
def test_a_fresh_install_lists_every_key_with_its_default(admin_client):
    response = admin_client.get(SCREEN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "0 application settings" not in html
    listed = rows(html)
    assert list(listed) == list(SPECS)
    assert {row["source"] for row in listed.values()} == {"default"}
    assert listed["OTP_TTL_SECONDS"]["value"] == "600"
    assert listed["IS_OTP_ENABLED"]["value"] == "Yes"
    assert listed["CODE_CHANNELS"]["value"] == "SMS, E-mail, Push"
    assert listed["CHECKIN_ALERT_MINUTES"]["value"] == "5"
    for spec in SPECS.values():  # what each one means
        assert str(spec.help_text).replace("'", "&#x27;") in html


@pytest.mark.django_db
def test_each_scope_says_where_each_value_comes_from(admin_client, store, other_store):
    app_setting_set(key="OTP_TTL_SECONDS", value=900)
    app_setting_set(key="OTP_TTL_SECONDS", value=300, store=store)
    app_setting_set(key="IS_OTP_ENABLED", value=False, store=store)

    of_store = rows(admin_client.get(SCREEN, {"store": "ist01"}).content.decode())  # any case, as the command
    assert of_store["OTP_TTL_SECONDS"] == {"value": "300", "source": "store", "note": "otherwise 900 (global)"}
    assert of_store["IS_OTP_ENABLED"] == {"value": "No", "source": "store", "note": "otherwise Yes (default)"}
    assert of_store["PICKUP_HOLD_HOURS"] == {"value": "72", "source": "default", "note": ""}

    of_other = rows(admin_client.get(SCREEN, {"store": other_store.code}).content.decode())
    assert of_other["OTP_TTL_SECONDS"] == {"value": "900", "source": "global", "note": ""}
    assert of_other["IS_OTP_ENABLED"] == {"value": "Yes", "source": "default", "note": ""}

    global_html = admin_client.get(SCREEN).content.decode()
    assert rows(global_html)["OTP_TTL_SECONDS"] == {
        "value": "900",
        "source": "global",
        "note": "1 store has its own value: IST01",
    }
    assert f'<option value="{store.code}" selected>' not in global_html and f'value="{other_store.code}"' in global_html


@pytest.mark.django_db
def test_widgets_have_the_type_and_range_of_their_setting(admin_client, store):
    html = admin_client.get(SCREEN, {"store": store.code}).content.decode()
    assert re.search(r'<input type="checkbox" name="IS_OTP_ENABLED" id="id_IS_OTP_ENABLED" checked>', html)
    ttl = re.search(r'<input type="number" name="OTP_TTL_SECONDS"[^>]*>', html)[0]
    assert 'min="60"' in ttl and 'max="86400"' in ttl and 'value="600"' in ttl
    alert = re.search(r'<input type="number" name="CHECKIN_ALERT_MINUTES"[^>]*>', html)[0]
    assert 'min="1"' in alert and 'max="120"' in alert
    channels = re.findall(r'<input type="checkbox" name="CODE_CHANNELS" value="(\w+)"[^>]*checked>', html)
    assert channels == ["sms", "email", "push"]
    assert 'name="OTP_TTL_SECONDS-set"' in html and 'name="_save"' in html


@pytest.mark.django_db
def test_saving_sets_changes_and_removes_values_of_one_scope(admin_client, store):
    app_setting_set(key="PICKUP_HOLD_HOURS", value=48, store=store)
    form = {
        "keys": ["OTP_TTL_SECONDS", "CODE_CHANNELS", "ALLOW_MANUAL_CONFIRM", "PICKUP_HOLD_HOURS"],
        "OTP_TTL_SECONDS-set": "on",
        "OTP_TTL_SECONDS": "120",
        "CODE_CHANNELS-set": "on",
        "CODE_CHANNELS": ["push", "sms"],
        "ALLOW_MANUAL_CONFIRM-set": "on",  # ticked, its checkbox not: off
        "PICKUP_HOLD_HOURS": "48",  # "Set here" unticked: the store follows the global value again
    }
    response = admin_client.post(f"{SCREEN}?store={store.code}", form)
    assert response.status_code == 302 and response["Location"] == f"{SCREEN}?store={store.code}"
    assert get_setting("OTP_TTL_SECONDS", store) == 120 and get_setting("OTP_TTL_SECONDS") == 600
    assert get_setting("CODE_CHANNELS", store) == ["sms", "push"]
    assert get_setting("ALLOW_MANUAL_CONFIRM", store) is False
    assert get_setting("PICKUP_HOLD_HOURS", store) == 72
    assert set(AppSetting.objects.values_list("key", "store")) == {
        ("OTP_TTL_SECONDS", store.pk),
        ("CODE_CHANNELS", store.pk),
        ("ALLOW_MANUAL_CONFIRM", store.pk),
    }
    page = admin_client.get(response["Location"]).content.decode()
    assert "Saved: OTP_TTL_SECONDS, ALLOW_MANUAL_CONFIRM, PICKUP_HOLD_HOURS, CODE_CHANNELS." in page

    # The form as the page now shows it, saved again, changes nothing and writes nothing.
    before = token()
    again = admin_client.post(f"{SCREEN}?store={store.code}", {**form, "PICKUP_HOLD_HOURS": "72"}, follow=True)
    assert "Nothing changed." in again.content.decode() and token() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("OTP_TTL_SECONDS", "5", "OTP_TTL_SECONDS must be between 60 and 86400."),
        ("OTP_TTL_SECONDS", "١٢٠", "OTP_TTL_SECONDS must be a whole number, not &#x27;١٢٠&#x27;."),
        ("OTP_TTL_SECONDS", "", "OTP_TTL_SECONDS must be a whole number, not &#x27;&#x27;."),
        ("OTP_MAX_ATTEMPTS", "1e3", "OTP_MAX_ATTEMPTS must be a whole number, not &#x27;1e3&#x27;."),
        ("CHECKIN_ALERT_MINUTES", "121", "CHECKIN_ALERT_MINUTES must be between 1 and 120."),
        ("CODE_CHANNELS", [], "CODE_CHANNELS takes one or more of sms, email, push."),
        ("CODE_CHANNELS", ["fax"], "Select a valid choice. fax is not one of the available choices."),
        ("OTP_TTL_SECONDS", "9" * 30, "Ensure this value has at most 20 characters (it has 30)."),
    ],
)
def test_an_invalid_value_is_said_and_nothing_changes(admin_client, store, key, value, message):
    app_setting_set(key="PICKUP_HOLD_HOURS", value=48, store=store)
    before = token()
    form = {
        "keys": [key, "PICKUP_HOLD_HOURS"],
        f"{key}-set": "on",
        key: value,
        "PICKUP_HOLD_HOURS-set": "on",
        "PICKUP_HOLD_HOURS": "24",  # valid, but not saved either: all of a scope or nothing
    }
    response = admin_client.post(f"{SCREEN}?store={store.code}", form)
    html = response.content.decode()
    assert response.status_code == 200 and html.count(message) == 1
    assert "Nothing was saved." in html
    assert list(AppSetting.objects.values_list("key", "value")) == [("PICKUP_HOLD_HOURS", 48)] and token() == before


@pytest.mark.django_db
def test_a_value_changed_without_set_here_is_not_dropped_silently(admin_client):
    response = admin_client.post(SCREEN, {"keys": "OTP_TTL_SECONDS", "OTP_TTL_SECONDS": "120"})
    assert response.status_code == 200
    assert "Tick “Set here” to use this value" in response.content.decode()
    assert not AppSetting.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["store=NOPE", "store=%00", "store=" + "Ş" * 500, "store=IST01%27--", "store[]=IST01", "o=99&p=-1"]
)
def test_odd_addresses_are_a_404_or_the_global_screen_never_a_500(admin_client, store, query):
    assert admin_client.get(f"{SCREEN}?{query}").status_code in (200, 404)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "form",
    [
        {"keys": "NOPE", "NOPE-set": "on", "NOPE": "1"},
        {"keys": ["OTP_TTL_SECONDS"] * 3, "OTP_TTL_SECONDS-set": "on", "OTP_TTL_SECONDS": ["1", "2"]},
        {"keys": "IS_OTP_ENABLED", "IS_OTP_ENABLED-set": "on", "IS_OTP_ENABLED": "\x00"},
        {"keys": "CODE_CHANNELS", "CODE_CHANNELS-set": "on", "CODE_CHANNELS": "\x00" * 3},
        "keys=OTP_TTL_SECONDS&OTP_TTL_SECONDS-set=on&OTP_TTL_SECONDS=%ED%A0%80",  # a lone surrogate, UTF-8 encoded
        "keys=CODE_CHANNELS&CODE_CHANNELS-set=on&CODE_CHANNELS=%FF%FE",  # not UTF-8 at all
        {"action": "delete_selected", "_selected_action": ["1"], "post": "yes"},  # the list's old form
        {},
    ],
)
def test_junk_posts_never_answer_500_and_change_only_what_they_validly_say(admin_client, store, form):
    if isinstance(form, str):
        response = admin_client.post(
            f"{SCREEN}?store={store.code}", form, content_type="application/x-www-form-urlencoded"
        )
    else:
        response = admin_client.post(f"{SCREEN}?store={store.code}", form)
    assert response.status_code in (200, 302)
    for row in AppSetting.objects.all():  # whatever was stored is a valid value of a known key
        assert SPECS[row.key].parse(row.value) == row.value


@pytest.mark.django_db
def test_a_reader_sees_the_screen_without_widgets_to_save(client, django_user_model, store):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_appsetting"))
    client.force_login(viewer)
    page = client.get(SCREEN, {"store": store.code})
    html = page.content.decode()
    assert page.status_code == 200 and list(rows(html)) == list(SPECS)
    assert 'name="_save"' not in html and re.search(r'name="OTP_TTL_SECONDS"[^>]*disabled', html)
    posted = client.post(SCREEN, {"keys": "OTP_TTL_SECONDS", "OTP_TTL_SECONDS-set": "on", "OTP_TTL_SECONDS": "120"})
    assert posted.status_code == 403 and not AppSetting.objects.exists()


@pytest.mark.django_db
def test_the_screen_speaks_turkish(admin_client, store):
    html = admin_client.get(SCREEN, {"store": store.code}, HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert "Teslim kodu üretilir ve teslimde istenir." in html  # IS_OTP_ENABLED's meaning
    assert "Burada ayarla" in html and "Geçerli değer" in html and "Kaynak" in html
    assert rows(html)["OTP_TTL_SECONDS"]["source"] == "varsayılan"
    assert rows(html)["IS_OTP_ENABLED"]["value"] == "Evet"


@pytest.mark.django_db
def test_the_saved_rows_stay_listed_beside_the_screen(admin_client, store):
    app_setting_set(key="OTP_TTL_SECONDS", value=300, store=store)
    listing = admin_client.get("/admin/core/appsetting/stored/")
    assert listing.status_code == 200 and "OTP_TTL_SECONDS" in listing.content.decode()
    assert 'href="/admin/core/appsetting/stored/"' in admin_client.get(SCREEN).content.decode()


@pytest.mark.django_db
def test_many_stores_with_their_own_value_are_named_up_to_five(admin_client):
    for number in range(7):
        app_setting_set(key="OTP_MAX_ATTEMPTS", value=3, store=StoreFactory(code=f"S{number:02d}"))
    row = rows(admin_client.get(SCREEN).content.decode())["OTP_MAX_ATTEMPTS"]
    assert (row["source"], row["note"]) == ("default", "7 stores have their own value: S00, S01, S02, S03, S04 …")


@pytest.mark.django_db(transaction=True)
def test_otp_switched_off_on_the_screen_and_a_package_marked_ready_in_the_same_second_sends_no_code(
    admin_client, store, employee, make_package
):
    """SPEC 5's example: a manager switches OTP off in admin, and the same second a package is made ready: no code."""
    with time_machine.travel(timezone.now(), tick=False):
        first = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)  # the snapshot says OTP is on
        assert PickupCode.objects.filter(package=first).exists()
        second = make_package(PackageStatus.PACKED_ALL_ITEMS)

        response = admin_client.post(
            f"{SCREEN}?store={store.code}", {"keys": "IS_OTP_ENABLED", "IS_OTP_ENABLED-set": "on"}
        )
        assert response.status_code == 302
        services.package_mark_ready(package=second, actor=employee, channel="web")

    assert not PickupCode.objects.filter(package=second).exists()
    assert not any(message.has_secret for message in second.messages.all())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "once", "never"),
    [
        ({"key": "OTP_TTL_SECONDS", "value": ""}, "This field is required.", "not None"),
        ({"key": "NOPE", "value": "1"}, "Select a valid choice. NOPE is not one of the available choices.", "Unknown"),
    ],
)
def test_a_value_or_key_the_form_refused_is_said_once(admin_client, form, once, never):
    response = admin_client.post("/admin/core/appsetting/add/", {**form, "store": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count(once) == 1
    assert never not in html
    assert not AppSetting.objects.exists()


@pytest.mark.django_db
def test_a_setting_this_version_no_longer_has_is_listed_shown_and_deleted_not_a_500(admin_client):
    """A row an earlier release wrote for a setting since removed: the list and its page answer (the list read its
    default from the settings this version has, the form its value's format), and it can be deleted, not set."""
    retired = AppSetting.objects.create(key="RETIRED_SETTING", value={"a": 1})
    AppSetting.objects.create(key="CODE_CHANNELS", value=["sms", "email"])
    listing = admin_client.get("/admin/core/appsetting/stored/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "RETIRED_SETTING" in html and '{"a": 1}' in html.replace("&quot;", '"')
    assert '<td class="field-value_text">sms,email</td>' in html  # as the form takes it and the default shows it

    page = admin_client.get(f"/admin/core/appsetting/{retired.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"/admin/core/appsetting/{retired.pk}/change/", {"value": "2"}).status_code == 403
    assert AppSetting.objects.get(pk=retired.pk).value == {"a": 1}

    deleted = admin_client.post(f"/admin/core/appsetting/{retired.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not AppSetting.objects.filter(pk=retired.pk).exists()


@pytest.mark.django_db
def test_deleting_selected_settings_puts_the_default_back_at_once(admin_client):
    """As deleting one row on its page does: the delete announces itself (``settings_changed``)."""
    from core.appsettings import get_setting
    from core.services import app_setting_set

    setting = app_setting_set(key="OTP_TTL_SECONDS", value="900")
    assert get_setting("OTP_TTL_SECONDS") == 900
    response = admin_client.post(
        "/admin/core/appsetting/stored/", {"action": "delete_selected", "_selected_action": [setting.pk], "post": "yes"}
    )
    assert response.status_code == 302 and not AppSetting.objects.exists()
    assert get_setting("OTP_TTL_SECONDS") == 600
