"""Application settings (SPEC 5): validation, per-store overrides, the CLI, admin, and run-time effect."""

import os
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from core.appsettings import SPECS, get_setting
from core.errors import ApplicationError
from core.models import AppSetting
from core.services import app_setting_set, app_setting_unset
from core.testing import requires_shared_database


@pytest.mark.django_db
def test_defaults_hold_without_rows():
    assert {key: get_setting(key) for key in SPECS} == {
        "IS_OTP_ENABLED": True,
        "OTP_TTL_SECONDS": 600,
        "OTP_MAX_ATTEMPTS": 5,
        "OTP_RESEND_COOLDOWN_SECONDS": 60,
        "OTP_MAX_CODES_PER_PACKAGE": 5,
        "ALLOW_MANUAL_CONFIRM": True,
        "PICKUP_HOLD_HOURS": 72,
        "PICKUP_REMINDER_HOURS": 24,
        "NO_SHOW_WATCH_THRESHOLD": 2,
        "NO_SHOW_RESTRICT_THRESHOLD": 3,
        "NO_SHOW_RESTRICT_DAYS": 14,
        "NO_SHOW_STRIKE_DECAY_DAYS": 90,
        "CODE_CHANNELS": ["sms", "email", "push"],
    }


@pytest.mark.django_db
def test_store_override_beats_global(store, other_store):
    app_setting_set(key="OTP_TTL_SECONDS", value="900")
    app_setting_set(key="OTP_TTL_SECONDS", value=300, store=store)
    assert get_setting("OTP_TTL_SECONDS", store) == 300
    assert get_setting("OTP_TTL_SECONDS", other_store) == 900
    assert get_setting("OTP_TTL_SECONDS") == 900
    app_setting_unset(key="OTP_TTL_SECONDS", store=store)
    assert get_setting("OTP_TTL_SECONDS", store) == 900


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("OTP_TTL_SECONDS", 59),
        ("OTP_TTL_SECONDS", 86401),
        ("OTP_TTL_SECONDS", "ten"),
        ("OTP_MAX_ATTEMPTS", 0),
        ("OTP_MAX_ATTEMPTS", 11),
        ("PICKUP_HOLD_HOURS", 721),
        ("IS_OTP_ENABLED", "maybe"),
        ("CODE_CHANNELS", "sms,fax"),
        ("CODE_CHANNELS", ""),
        ("NO_SUCH_KEY", 1),
        ("OTP_TTL_SECONDS", True),
        ("OTP_TTL_SECONDS", "١٢٠"),  # Arabic-Indic digits: int() takes them, a setting does not
        ("OTP_TTL_SECONDS", "６００"),  # full-width digits
        ("OTP_TTL_SECONDS", "6_00"),
        ("OTP_TTL_SECONDS", "+600"),
    ],
)
def test_invalid_values_are_refused_with_a_clear_message(key, value):
    with pytest.raises(ApplicationError) as error:
        app_setting_set(key=key, value=value)
    assert error.value.code == "validation_error"
    assert key.split("_")[0] in str(error.value.message) or "Unknown setting" in str(error.value.message)
    assert not AppSetting.objects.exists()


@pytest.mark.django_db
def test_values_are_parsed_to_their_types():
    assert app_setting_set(key="IS_OTP_ENABLED", value="off").value is False
    assert app_setting_set(key="OTP_MAX_ATTEMPTS", value=" 7 ").value == 7
    assert app_setting_set(key="PICKUP_REMINDER_HOURS", value="0").value == 0
    assert app_setting_set(key="PICKUP_HOLD_HOURS", value=48).value == 48
    assert app_setting_set(key="CODE_CHANNELS", value="push, sms").value == ["sms", "push"]


@pytest.mark.django_db
def test_cli_set_get_list_unset(store):
    out = StringIO()
    call_command("appsetting", "set", "OTP_MAX_ATTEMPTS", "3", stdout=out)
    call_command("appsetting", "set", "OTP_MAX_ATTEMPTS", "4", "--store", store.code, stdout=out)
    out = StringIO()
    call_command("appsetting", "get", "OTP_MAX_ATTEMPTS", "--store", store.code, stdout=out)
    assert out.getvalue().strip() == "4"
    out = StringIO()
    call_command("appsetting", "list", stdout=out)
    assert "OTP_MAX_ATTEMPTS                 3" in out.getvalue()
    # Where each value comes from: the store's own, the global one, or the default.
    call_command("appsetting", "set", "PICKUP_HOLD_HOURS", "48", stdout=StringIO())
    out = StringIO()
    call_command("appsetting", "list", "--store", store.code.lower(), stdout=out)
    lines = {line.split()[0]: line.split()[-1] for line in out.getvalue().splitlines()}
    assert (lines["OTP_MAX_ATTEMPTS"], lines["PICKUP_HOLD_HOURS"], lines["OTP_TTL_SECONDS"]) == (
        "(store)",
        "(global)",
        "(default)",
    )
    assert " 4 " in next(line for line in out.getvalue().splitlines() if line.startswith("OTP_MAX_ATTEMPTS"))
    call_command("appsetting", "unset", "OTP_MAX_ATTEMPTS", "--store", store.code, stdout=StringIO())
    assert get_setting("OTP_MAX_ATTEMPTS", store) == 3
    with pytest.raises(CommandError, match="between 1 and 10"):
        call_command("appsetting", "set", "OTP_MAX_ATTEMPTS", "99")
    with pytest.raises(CommandError, match="No store"):
        call_command("appsetting", "get", "OTP_MAX_ATTEMPTS", "--store", "NOPE")
    assert get_setting("OTP_MAX_ATTEMPTS") == 3


@pytest.mark.django_db
def test_admin_edits_validate(admin_client, store):
    response = admin_client.post(
        "/admin/core/appsetting/add/", {"key": "OTP_TTL_SECONDS", "store": store.pk, "value": "5"}
    )
    assert response.status_code == 200 and "between 60 and 86400" in response.content.decode()
    assert not AppSetting.objects.exists()
    response = admin_client.post(
        "/admin/core/appsetting/add/", {"key": "OTP_TTL_SECONDS", "store": store.pk, "value": "120"}
    )
    assert response.status_code == 302
    assert get_setting("OTP_TTL_SECONDS", store) == 120


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "OTP_TTL_SECONDS must be a whole number, not &#x27;abc&#x27;."),
        ("0", "OTP_TTL_SECONDS must be between 60 and 86400."),
        ("99999999", "OTP_TTL_SECONDS must be between 60 and 86400."),
    ],
)
def test_admin_says_what_is_wrong_with_a_value_once(admin_client, store, value, message):
    response = admin_client.post(
        "/admin/core/appsetting/add/", {"key": "OTP_TTL_SECONDS", "store": store.pk, "value": value}
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.count(message) == 1
    assert "not None" not in html
    assert not AppSetting.objects.exists()


@pytest.mark.django_db
def test_admin_changes_an_existing_value_and_refuses_a_bad_one(admin_client, store):
    setting = app_setting_set(key="OTP_TTL_SECONDS", value=900, store=store)
    url = f"/admin/core/appsetting/{setting.pk}/change/"
    assert admin_client.post(url, {"value": "abc"}).status_code == 200
    assert get_setting("OTP_TTL_SECONDS", store) == 900
    assert admin_client.post(url, {"value": "120"}).status_code == 302
    assert get_setting("OTP_TTL_SECONDS", store) == 120


@pytest.mark.django_db
def test_process_cache_picks_up_changes_made_elsewhere(settings):
    """Another process writes the table directly; this process sees it once its snapshot is older than the window."""
    settings.APP_SETTINGS_CACHE_SECONDS = 0.3
    assert get_setting("PICKUP_HOLD_HOURS") == 72
    AppSetting.objects.create(key="PICKUP_HOLD_HOURS", value=24)  # bypasses the service: no local invalidation
    assert get_setting("PICKUP_HOLD_HOURS") == 72  # still the snapshot
    time.sleep(0.35)
    assert get_setting("PICKUP_HOLD_HOURS") == 24


@requires_shared_database
@pytest.mark.django_db(transaction=True)
def test_change_takes_effect_in_another_process_within_five_seconds():
    """A separate Python process (a stand-in for a web or worker process) polls the setting while we change it."""
    script = (
        "import django, time, sys\n"
        "django.setup()\n"
        "from core.appsettings import get_setting\n"
        "assert get_setting('OTP_MAX_ATTEMPTS') == 5\n"
        "print('ready', flush=True)\n"
        "start = time.monotonic()\n"
        "while time.monotonic() - start < 10:\n"
        "    if get_setting('OTP_MAX_ATTEMPTS') == 9:\n"
        "        print(f'seen {time.monotonic() - start:.2f}', flush=True); sys.exit(0)\n"
        "    time.sleep(0.05)\n"
        "sys.exit(1)\n"
    )
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "APP_SETTINGS_CACHE_SECONDS": str(django_settings.APP_SETTINGS_CACHE_SECONDS or 2),
    }
    env["APP_SETTINGS_CACHE_SECONDS"] = "2"
    process = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "ready"
    changed_at = time.monotonic()
    app_setting_set(key="OTP_MAX_ATTEMPTS", value=9)
    out, err = process.communicate(timeout=15)
    elapsed = time.monotonic() - changed_at
    assert process.returncode == 0, err
    assert out.startswith("seen") and elapsed < 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("scope", "english", "turkish"),
    [
        (
            "global",
            "This setting already has a global value; change that one instead.",
            "Bu ayarın zaten genel bir değeri var; onu değiştirin.",
        ),
        (
            "store",
            "This store already has its own value for this setting; change that one instead.",
            "Bu mağazanın bu ayar için zaten kendi değeri var; onu değiştirin.",
        ),
    ],
)
def test_admin_says_plainly_that_a_setting_already_has_a_value(admin_client, store, scope, english, turkish):
    store_pk = store.pk if scope == "store" else ""
    app_setting_set(key="OTP_TTL_SECONDS", value=900, store=store if scope == "store" else None)
    form = {"key": "OTP_TTL_SECONDS", "store": store_pk, "value": "120"}
    for language, text in (("en", english), ("tr", turkish)):
        response = admin_client.post("/admin/core/appsetting/add/", form, HTTP_ACCEPT_LANGUAGE=language)
        html = response.content.decode()
        assert response.status_code == 200 and text in html, language
        assert "appsetting_one_" not in html
    assert AppSetting.objects.get().value == 900


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["get", "NOPE"], ["set", "NOPE", "1"], ["unset", "NOPE"]])
def test_cli_names_the_known_keys_for_an_unknown_one(args):
    with pytest.raises(CommandError) as raised:
        call_command("appsetting", *args)
    assert str(raised.value) == f"Unknown setting NOPE. Known keys: {', '.join(SPECS)}"


@pytest.mark.django_db
def test_cli_finds_the_store_whatever_the_case_of_its_code(store):
    call_command("appsetting", "set", "OTP_MAX_ATTEMPTS", "4", "--store", "ist01", stdout=StringIO())
    assert get_setting("OTP_MAX_ATTEMPTS", store) == 4
    out = StringIO()
    call_command("appsetting", "get", "OTP_MAX_ATTEMPTS", "--store", "Ist01", stdout=out)
    assert out.getvalue().strip() == "4"
