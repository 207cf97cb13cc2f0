"""The texts django_celery_beat and django-axes never mark for translation, given by the project's subclasses of their
admins (core/admin_thirdparty.py): in Turkish for a Turkish reader, and in English exactly what the packages show."""

import json
import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core.admin_thirdparty import (
    access_attempt_title,
    access_failure_title,
    access_log_title,
    crontab_description,
)
from core.tests.test_admin_i18n import visible_text

RECORD = {"user_agent": "curl", "ip_address": "192.0.2.7", "http_accept": "*/*", "path_info": "/login/"}


@pytest.fixture
def records(db):
    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    return {
        "crontab": crontab,
        "interval": interval,
        "nightly": PeriodicTask.objects.create(
            name="nightly", task="orders.expire_unclaimed_packages", crontab=crontab
        ),
        "reminders": PeriodicTask.objects.create(
            name="reminders", task="orders.send_pickup_reminders", interval=interval
        ),
        "attempt": AccessAttempt.objects.create(
            username="locked", get_data="", post_data="", failures_since_start=settings.AXES_FAILURE_LIMIT, **RECORD
        ),
        "log": AccessLog.objects.create(username="warned", **RECORD),
        "failure": AccessFailureLog.objects.create(username="locked", locked_out=True, **RECORD),
    }


def page_url(page: str, records: dict) -> str:
    urls = {
        "periodic tasks": ("admin:django_celery_beat_periodictask_changelist", None),
        "cron task": ("admin:django_celery_beat_periodictask_change", "nightly"),
        "crontabs": ("admin:django_celery_beat_crontabschedule_changelist", None),
        "crontab": ("admin:django_celery_beat_crontabschedule_change", "crontab"),
        "interval": ("admin:django_celery_beat_intervalschedule_change", "interval"),
        "access attempts": ("admin:axes_accessattempt_changelist", None),
        "access attempt": ("admin:axes_accessattempt_change", "attempt"),
        "access attempt history": ("admin:axes_accessattempt_history", "attempt"),
        "access log": ("admin:axes_accesslog_change", "log"),
        "access failure": ("admin:axes_accessfailurelog_change", "failure"),
    }
    name, record = urls[page]
    return reverse(name, args=[records[record].pk] if record else None)


# page -> (Turkish, English): each side must be on its own page and not on the other's. Record titles carry the
# record's time, so they are checked by their words here and whole in the tests below.
EXPECTED = {
    "periodic tasks": (["Zamanlama", "Görev adı süzgecine göre"], ["Scheduler", "By Task Name"]),
    "cron task": (["Cron anlamı: Saat 03:00 UTC"], ["Crontab translation: At 03:00 AM UTC"]),
    "crontabs": (["Anlamı", "Saat 03:00 UTC"], ["Human readable", "At 03:00 AM UTC"]),
    "crontab": (["Anlamı: Saat 03:00 UTC", "Görev adı"], ["Human readable: At 03:00 AM UTC", "Task Name"]),
    "interval": (["Görev adı"], ["Task Name"]),
    "access attempts": (["Durum"], ["Status"]),
    "access attempt": (["Erişim denemesi:"], ["Attempted Access:"]),
    "access attempt history": (["Değişiklik geçmişi: Erişim denemesi:"], ["Attempted Access:"]),
    "access log": (["Erişim kaydı: warned @"], ["Access Log for warned @"]),
    "access failure": (
        ["Başarısız erişim: locked kullanıcısı ", "192.0.2.7 adresinden kilitlendi"],
        ["Failed access: user locked locked out on"],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(EXPECTED))
@pytest.mark.parametrize("language", ["tr", "en"])
def test_package_admin_texts_follow_the_readers_language(admin_client, records, page, language):
    response = admin_client.get(page_url(page, records), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    text = visible_text(response)
    turkish, english = EXPECTED[page]
    wanted, unwanted = (turkish, english) if language == "tr" else (english, turkish)
    assert [t for t in wanted if t not in text] == []
    assert [t for t in unwanted if t in text] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("record", "title", "page"),
    [
        ("attempt", access_attempt_title, "access attempt"),
        ("log", access_log_title, "access log"),
        ("failure", access_failure_title, "access failure"),
    ],
)
def test_record_titles_on_the_change_page(admin_client, records, record, title, page):
    """Heading, browser title and breadcrumbs: the record's title in Turkish, and the package's own in English."""
    obj = records[record]
    with translation.override("tr"):
        turkish = title(obj)
    assert turkish != str(obj)
    with translation.override("en"):
        assert title(obj) == str(obj)

    for language, expected, other in [("tr", turkish, str(obj)), ("en", str(obj), turkish)]:
        content = admin_client.get(page_url(page, records), HTTP_ACCEPT_LANGUAGE=language).content.decode()
        heading = re.search(r"<h2>(.*?)</h2>", content).group(1)
        page_title = re.search(r"<title>(.*?)</title>", content, re.S).group(1)
        breadcrumbs = re.search(r'<div class="breadcrumbs">(.*?)</div>', content, re.S).group(1)
        # The titles hold nothing HTML escapes, so the page has them as they are.
        assert heading == expected
        assert page_title.strip().startswith(expected + " | ")
        assert expected in breadcrumbs
        assert other not in content


@pytest.mark.django_db
def test_access_failure_title_without_lockout(db):
    failure = AccessFailureLog.objects.create(username="warned", locked_out=False, **RECORD)
    with translation.override("en"):
        assert access_failure_title(failure) == str(failure)
    with translation.override("tr"):
        assert access_failure_title(failure) == (
            f"Başarısız erişim: warned kullanıcısı, {failure.attempt_time} tarihinde 192.0.2.7 adresinden"
        )


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["tr", "en"])
def test_periodic_task_form_script_speaks_the_readers_language(admin_client, records, language):
    """The cron description the form's script adds to the crontab's help text, and the label before it."""
    content = admin_client.get(page_url("cron task", records), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    descriptions = json.loads(re.search(r'<script id="readable-crontabs" [^>]*>(.*?)</script>', content).group(1))
    # The package's inline script is a file (the Content-Security-Policy allows no inline script); its texts are the
    # script element's data attributes.
    element = re.search(r'<script id="periodic-task-overrides" ([^>]*)></script>', content, re.S).group(1)
    label = re.search(r'data-translation-label="([^"]*)"', element).group(1)
    if language == "tr":
        assert descriptions == {str(records["crontab"].pk): "Saat 03:00 UTC"}
        assert label == "Anlamı:"
        assert "Translation:" not in content
    else:
        assert descriptions == {str(records["crontab"].pk): records["crontab"].human_readable}
        assert label == "Translation:"
    # The package's own behaviour is kept: the description row hidden, the help text updated on change (run in
    # Chromium by core/tests/test_content_security_policy_browser.py).
    src = re.search(r'src="([^"]*)"', element).group(1)
    script = "".join(chunk.decode() for chunk in Client().get(src).streaming_content)
    assert '$(".field-crontab_translation").hide()' in script
    assert "updateCrontabHelp(readableCrontabs[" in script


CRONTABS = [
    {"minute": "0", "hour": "3"},
    {"minute": "*/15"},
    {"minute": "0", "hour": "9", "day_of_week": "mon-fri"},
    {"minute": "0", "hour": "0,12", "day_of_week": "0", "month_of_year": "1"},
    {"minute": "30", "hour": "2", "day_of_month": "1", "month_of_year": "5-6"},
    {"minute": "0", "hour": "3", "day_of_week": "*"},
    {"minute": "x"},  # not a cron expression cron_descriptor reads: shown as it is
]


@pytest.mark.parametrize("fields", CRONTABS)
def test_cron_descriptions_in_english_are_the_packages(fields):
    crontab = CrontabSchedule(**fields)
    with translation.override("en"):
        assert crontab_description(crontab) == crontab.human_readable


@pytest.mark.parametrize(
    ("fields", "turkish"),
    [
        ({"minute": "0", "hour": "3"}, "Saat 03:00 UTC"),
        ({"minute": "*/15"}, "Her 15 dakikada bir UTC"),
        (
            {"minute": "0", "hour": "9", "day_of_week": "mon-fri"},
            "Saat 09:00, sadece Pazartesi, Salı, Çarşamba, Perşembe, ve Cuma günü UTC",
        ),
        (
            {"minute": "0", "hour": "0,12", "day_of_week": "0", "month_of_year": "1"},
            "Saat 00:00 ve 12:00, sadece Pazar günü, sadece Ocak için UTC",
        ),
        (
            {"minute": "30", "hour": "2", "day_of_month": "1", "month_of_year": "5-6"},
            "Saat 02:30, ayın 1. günü, Mayıs ile Haziran arasında UTC",
        ),
    ],
)
def test_cron_descriptions_in_turkish(fields, turkish):
    """cron_descriptor's Turkish sentences, 24-hour times, and day and month names from Django's Turkish catalog
    (cron_descriptor takes those from the server's locale)."""
    with translation.override("tr"):
        assert crontab_description(CrontabSchedule(**fields)) == turkish
