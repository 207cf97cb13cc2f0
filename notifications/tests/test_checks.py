"""The notification system check: production does not start with channels that cannot reach a customer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core import checks
from django.test import override_settings

from core.testing import PRODUCTION_ENV
from notifications.checks import check_notification_backends

ROOT = Path(__file__).resolve().parent.parent.parent
# Real channels with DEBUG off, as production runs: the base every case below changes one thing in.
QUIET = {
    "DEBUG": False,
    "NOTIFY_SMS_BACKEND": "http",
    "NOTIFY_EMAIL_BACKEND": "smtp",
    "NOTIFY_PUSH_BACKEND": "http",
    "NOTIFY_SMS_URL": "https://sms.example.com/send",
    "NOTIFY_PUSH_URL": "https://push.example.com/send",
    "NOTIFY_ALLOW_CONSOLE": False,
}


def ids(**overrides) -> list[str]:
    with override_settings(**{**QUIET, **overrides}):
        return [error.id for error in check_notification_backends()]


def test_it_is_registered_and_runs_with_the_other_checks():
    assert check_notification_backends in checks.registry.registry.get_checks()
    with override_settings(**{**QUIET, "NOTIFY_SMS_BACKEND": "console"}):
        found = checks.run_checks(tags=["notifications"])
    assert [(error.id, error.level) for error in found] == [("notifications.E001", checks.ERROR)]
    assert "NOTIFY_SMS_BACKEND" in found[0].msg and "NOTIFY_ALLOW_CONSOLE" in found[0].hint


def test_real_channels_pass():
    assert ids() == []
    assert (
        ids(
            NOTIFY_SMS_BACKEND="http",
            NOTIFY_SMS_URL="https://sms.example.com/send",
            NOTIFY_EMAIL_BACKEND="smtp",
            NOTIFY_PUSH_BACKEND="http",
            NOTIFY_PUSH_URL="https://push.example.com/send",
        )
        == []
    )
    assert ids(NOTIFY_EMAIL_BACKEND="notifications.backends.SmtpEmailBackend") == []  # a dotted path that imports


def test_console_is_an_error_without_debug_for_every_channel():
    assert ids(NOTIFY_SMS_BACKEND="console") == ["notifications.E001"]
    assert ids(NOTIFY_EMAIL_BACKEND="console") == ["notifications.E001"]
    assert ids(NOTIFY_SMS_BACKEND="console", NOTIFY_PUSH_BACKEND="console") == ["notifications.E001"] * 2


def test_console_is_allowed_with_debug_or_the_explicit_flag():
    assert ids(NOTIFY_SMS_BACKEND="console", NOTIFY_PUSH_BACKEND="console", DEBUG=True) == []
    assert ids(NOTIFY_SMS_BACKEND="console", NOTIFY_PUSH_BACKEND="console", NOTIFY_ALLOW_CONSOLE=True) == []


def test_file_is_an_error_without_debug_for_every_channel():
    """``file`` never reaches a customer either, and it leaves the codes in plain text on the server's disk."""
    assert ids(NOTIFY_SMS_BACKEND="file") == ["notifications.E004"]
    assert ids(NOTIFY_EMAIL_BACKEND="file", NOTIFY_PUSH_BACKEND="file") == ["notifications.E004"] * 2
    with override_settings(**{**QUIET, "NOTIFY_EMAIL_BACKEND": "file"}):
        (error,) = check_notification_backends()
    assert "NOTIFY_EMAIL_BACKEND" in error.msg and "NOTIFY_ALLOW_CONSOLE" in error.hint


def test_file_is_allowed_with_debug_or_the_explicit_flag():
    assert ids(NOTIFY_SMS_BACKEND="file", NOTIFY_EMAIL_BACKEND="file", DEBUG=True) == []
    assert ids(NOTIFY_SMS_BACKEND="file", NOTIFY_EMAIL_BACKEND="file", NOTIFY_ALLOW_CONSOLE=True) == []


def test_http_needs_its_url_whatever_debug():
    assert ids(NOTIFY_SMS_URL="") == ["notifications.E002"]
    assert ids(NOTIFY_PUSH_URL="", DEBUG=True) == ["notifications.E002"]
    with override_settings(**{**QUIET, "NOTIFY_PUSH_URL": ""}):
        (error,) = check_notification_backends()
    assert "NOTIFY_PUSH_URL" in error.msg


def test_a_backend_the_channel_cannot_use_is_an_error():
    assert ids(NOTIFY_SMS_BACKEND="smtp") == ["notifications.E003"]
    assert ids(NOTIFY_EMAIL_BACKEND="http") == ["notifications.E003"]
    assert ids(NOTIFY_PUSH_BACKEND="carrier-pigeon") == ["notifications.E003"]
    assert ids(NOTIFY_SMS_BACKEND="notifications.backends.NoSuchBackend") == ["notifications.E003"]


# --- what production does with it -------------------------------------------------------------------------


def manage_check(**variables: str) -> subprocess.CompletedProcess:
    """``manage.py check`` with production settings (no server is contacted)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NOTIFY_") and key != "DEBUG"}
    env.update(PRODUCTION_ENV, **variables)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--tag", "notifications"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_provider_urls_refuses_and_with_them_passes():
    refused = manage_check()
    assert refused.returncode != 0
    assert "notifications.E002" in refused.stderr
    assert "NOTIFY_SMS_URL" in refused.stderr and "NOTIFY_PUSH_URL" in refused.stderr

    console = manage_check(NOTIFY_SMS_BACKEND="console", NOTIFY_PUSH_BACKEND="console")
    assert console.returncode != 0 and "notifications.E001" in console.stderr

    configured = manage_check(NOTIFY_SMS_URL="https://sms.example.com/send", NOTIFY_PUSH_URL="https://push.example.com")
    assert configured.returncode == 0, configured.stderr
    # What bench/_common.py production_env() sets: a production-like run that must not send.
    bench = manage_check(NOTIFY_SMS_BACKEND="console", NOTIFY_PUSH_BACKEND="console", NOTIFY_ALLOW_CONSOLE="true")
    assert bench.returncode == 0, bench.stderr


def test_production_refuses_the_file_channel_unless_allowed():
    files = {"NOTIFY_SMS_BACKEND": "file", "NOTIFY_EMAIL_BACKEND": "file", "NOTIFY_PUSH_BACKEND": "file"}
    refused = manage_check(**files)
    assert refused.returncode != 0
    assert refused.stderr.count("notifications.E004") == 3
    # What bench/verify_load.py sets on top of production_env(): files on a benchmark's disk, on purpose.
    allowed = manage_check(**files, NOTIFY_ALLOW_CONSOLE="true")
    assert allowed.returncode == 0, allowed.stderr
