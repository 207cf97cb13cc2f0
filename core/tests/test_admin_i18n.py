"""The third-party admin pages (django_celery_beat's schedules, django-axes' login records) speak Turkish too: their
strings are translated in the project's catalog, which Django reads before the packages' own."""

import html
import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


def visible_text(response) -> str:
    """What a person reads on the page: no scripts, styles or tags, entities decoded, spaces collapsed."""
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


@pytest.fixture
def schedules_and_login_records(db):
    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="nightly", task="orders.expire_unclaimed_packages", crontab=crontab)
    PeriodicTask.objects.create(name="reminders", task="orders.send_pickup_reminders", interval=interval)
    record = {"user_agent": "curl", "ip_address": "192.0.2.7", "http_accept": "*/*", "path_info": "/login/"}
    AccessAttempt.objects.create(
        username="locked", get_data="", post_data="", failures_since_start=settings.AXES_FAILURE_LIMIT, **record
    )
    AccessAttempt.objects.create(username="warned", get_data="", post_data="", failures_since_start=1, **record)
    AccessLog.objects.create(username="warned", **record)
    AccessFailureLog.objects.create(username="locked", locked_out=True, **record)


PAGES = {
    "index": reverse("admin:index"),
    "periodic tasks": reverse("admin:django_celery_beat_periodictask_changelist"),
    "add periodic task": reverse("admin:django_celery_beat_periodictask_add"),
    "crontabs": reverse("admin:django_celery_beat_crontabschedule_changelist"),
    "add crontab": reverse("admin:django_celery_beat_crontabschedule_add"),
    "add interval": reverse("admin:django_celery_beat_intervalschedule_add"),
    "add solar event": reverse("admin:django_celery_beat_solarschedule_add"),
    "access attempts": reverse("admin:axes_accessattempt_changelist"),
    "access logs": reverse("admin:axes_accesslog_changelist"),
    "access failures": reverse("admin:axes_accessfailurelog_changelist"),
}

# page -> (Turkish that must be there, English that must not), as the review found them.
EXPECTED = {
    "index": (
        [
            "Periyodik Görevler",
            "Periyodik görevler",
            "Cron zamanlamaları",
            "Aralıklar",
            "Güneş olayları",
            "Belirli zaman",
            "Erişim denemeleri",
            "Erişim kayıtları",
            "Başarısız erişimler",
        ],
        [
            "Periodic tasks",
            "Crontabs",
            "Intervals",
            "Solar events",
            "Clocked",
            "Access attempts",
            "Access logs",
            "Access failures",
        ],
    ),
    "periodic tasks": (
        [
            "Seçili görevleri etkinleştir",
            "Seçili görevleri devre dışı bırak",
            "Seçili görevleri çalıştır",
            "Başlangıç zamanı",
            "Son çalışma zamanı",
            "Tek seferlik görev",
            "her 5 dakika",
        ],
        [
            "Enable selected tasks",
            "Disable selected tasks",
            "Run selected tasks",
            "Start Datetime",
            "Last Run Datetime",
            "One-off Task",
            "every 5 minutes",
        ],
    ),
    "add periodic task": (
        [
            "Bu görev için kısa bir açıklama",
            "Görev (kayıtlı)",
            "Zamanlama",
            "Argümanlar",
            "Çalıştırma seçenekleri",
            "Aralık zamanlaması",
            "Cron zamanlaması",
            "Konumsal argümanlar",
            "Sona erme zamanı",
            "Öncelik",
        ],
        [
            "Short Description For This Task",
            "Task (registered)",
            "Execution Options",
            "Interval Schedule",
            "Crontab Schedule",
            "Positional Arguments",
            "Keyword Arguments",
            "Expires Datetime",
            "Priority Number",
        ],
    ),
    "crontabs": (["Cron zamanlamaları", "cron zamanlaması ekle"], ["Crontabs", "Add crontab"]),
    "add crontab": (
        ["Ayın günleri", "Haftanın günleri", "Cron saat dilimi", "Tümü için"],
        ["Minute(s)", "Day(s) Of The Month", "Cron Timezone", 'Use "*" for "all"'],
    ),
    "add interval": (["Periyot sayısı", "Periyot türü", "Dakika"], ["Number of Periods", "Interval Period", "Minutes"]),
    "add solar event": (
        ["Güneş olayı", "Gün doğumu", "Gün batımı", "Enlem", "Boylam"],
        ["Solar Event", "Sunrise", "Sunset", "Latitude", "Longitude"],
    ),
    "access attempts": (
        ["Deneme zamanı", "Başarısız girişler", "Kilitli", "deneme hakkı kaldı", "Süresi dolmuş denemeleri temizle"],
        ["Attempt Time", "Failed Logins", "Locked out", "Attempt Remaining", "Clean up expired attempts"],
    ),
    "access logs": (["Erişim kayıtları", "Çıkış zamanı", "IP adresi"], ["Access logs", "Logout Time", "IP Address"]),
    "access failures": (["Başarısız erişimler", "Kilitlendi"], ["Access failures", "Access lock out"]),
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(PAGES))
def test_schedule_and_login_record_admin_pages_speak_turkish(admin_client, schedules_and_login_records, page):
    response = admin_client.get(PAGES[page], HTTP_ACCEPT_LANGUAGE="tr")
    assert response.status_code == 200
    text = visible_text(response)
    turkish, english = EXPECTED[page]
    assert [t for t in turkish if t not in text] == []
    assert [e for e in english if e.lower() in text.lower()] == []


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(PAGES))
def test_the_same_pages_stay_english_in_english(admin_client, schedules_and_login_records, page):
    """The Turkish entries do not leak into English: the check above can only fail for lack of a translation."""
    response = admin_client.get(PAGES[page], HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = visible_text(response).lower()
    _, english = EXPECTED[page]
    assert [e for e in english if e.lower() not in text] == []


@pytest.mark.django_db
def test_periodic_task_actions_answer_in_turkish(admin_client, schedules_and_login_records):
    tasks = list(PeriodicTask.objects.values_list("pk", flat=True))
    response = admin_client.post(
        PAGES["periodic tasks"],
        {"action": "disable_tasks", "_selected_action": tasks},
        HTTP_ACCEPT_LANGUAGE="tr",
        follow=True,
    )
    text = visible_text(response)
    assert f"{len(tasks)} görev başarıyla devre dışı bırakıldı" in text
    assert "successfully disabled" not in text
    assert not PeriodicTask.objects.filter(pk__in=tasks, enabled=True).exists()


@pytest.mark.parametrize(
    ("language", "header", "title"),
    [
        ("en", "Click & Collect administration", "Stores, staff, customers, packages and settings"),
        ("tr", "Tıkla & Gel Al yönetimi", "Mağazalar, personel, müşteriler, paketler ve ayarlar"),
    ],
)
def test_admin_names_the_product_not_django(admin_client, language, header, title):
    text = visible_text(admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE=language))
    assert header in text and title in text
    assert "Django" not in text
    # The sign-in page too (an administrator who is not signed in).
    assert header in visible_text(Client().get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE=language))
