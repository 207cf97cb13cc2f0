"""The admins of django_celery_beat and django-axes, with the texts those packages never mark for translation.

Their model fields and ``Meta`` names are translatable and translated in the project's catalog; what is not goes
through the packages' admin classes: column headers named after methods ("Scheduler", "Human readable", "Status"),
the periodic task's plain-string field name "Task Name", cron descriptions, and the login records' ``__str__``.
Each class below subclasses the package's own and changes only those texts, so the packages' behaviour (fields,
filters, actions, permissions) stays theirs. Imported by ``core.admin``, which admin autodiscovery loads after the
packages' admin modules (``core`` follows them in ``INSTALLED_APPS``); the imports below make that order explicit.

Left in English, because fixing them would mean copying library code rather than overriding a hook: the records'
titles on the delete confirmation pages (Django formats the related-objects list from ``str()``), the titles stored
in the admin's action log, and django_celery_beat's "wrong scheduler" warning (never shown with this project's
``CELERY_BEAT_SCHEDULER``).
"""

import calendar
import datetime
import re

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from celery import schedules
from cron_descriptor import FormatException, MissingFieldException, Options, WrongArgumentException, get_description
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as celery_beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
    cronexp,
)
from timezone_field import TimeZoneField

# cron_descriptor's catalog for each site language, and whether that language writes 24-hour times (cron_descriptor
# decides that from the process locale, which is the server's, not the reader's). Anything else reads English.
CRON_DESCRIPTOR_LOCALES = {"tr": ("tr_TR", True)}
CRON_DESCRIPTOR_ENGLISH = ("en_US", False)


def crontab_expression(crontab: CrontabSchedule) -> str:
    """The five-field cron expression that ``CrontabSchedule.human_readable`` describes (django_celery_beat 2.9):
    days of the week normalised by Celery, all seven written as "*"."""
    try:
        celery_crontab = schedules.crontab(
            minute=crontab.minute,
            hour=crontab.hour,
            day_of_week=crontab.day_of_week,
            day_of_month=crontab.day_of_month,
            month_of_year=crontab.month_of_year,
        )
        if celery_crontab.day_of_week and set(celery_crontab.day_of_week) == set(range(7)):
            day_of_week = "*"
        else:
            day_of_week = cronexp(",".join(map(str, celery_crontab.day_of_week)))
    except (ValueError, schedules.ParseException):  # a form re-shown with the fields it refused ("-1")
        day_of_week = cronexp(crontab.day_of_week)
    return " ".join(
        [
            cronexp(crontab.minute),
            cronexp(crontab.hour),
            cronexp(crontab.day_of_month),
            cronexp(crontab.month_of_year),
            day_of_week,
        ]
    )


def _localise_calendar_names(description: str) -> str:
    """cron_descriptor's catalogs translate its sentences but take day and month names from the process locale
    (``calendar``, ``strftime("%B")``): swap those for Django's names in the active language."""
    names = {calendar.day_name[day]: str(WEEKDAYS[day]) for day in range(7)}
    names.update({datetime.date(2000, month, 1).strftime("%B"): str(MONTHS[month]) for month in range(1, 13)})
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda match: names[match.group(1)], description)


def crontab_description(crontab: CrontabSchedule) -> str:
    """``CrontabSchedule.human_readable`` in the active language ("At 03:00 AM UTC", "Saat 03:00 UTC").

    django_celery_beat calls ``cron_descriptor.get_description(expression)`` without options, so the language is
    the server process's locale for every reader; cron_descriptor takes the locale as an option, which this passes.
    An expression cron_descriptor cannot read is shown as it is, as the package does."""
    expression = crontab_expression(crontab)
    language = (get_language() or "").split("-")[0]
    locale_code, use_24hour_time = CRON_DESCRIPTOR_LOCALES.get(language, CRON_DESCRIPTOR_ENGLISH)
    options = Options()
    options.locale_code = locale_code
    options.use_24hour_time_format = use_24hour_time
    try:
        description = get_description(expression, options)
    except (MissingFieldException, FormatException, WrongArgumentException):
        return f"{expression} {crontab.timezone}"
    if (locale_code, use_24hour_time) != CRON_DESCRIPTOR_ENGLISH:
        description = _localise_calendar_names(description)
    return f"{description} {crontab.timezone}"


# django_celery_beat ------------------------------------------------------------------------------------------------


class TaskNameListFilter(admin.AllValuesFieldListFilter):
    """The package's filter on ``task``, titled with a translatable name (the field's verbose_name is a plain str)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("Task Name")


class PeriodicTaskInlineForm(forms.ModelForm):
    class Meta:
        model = PeriodicTask
        fields = celery_beat_admin.PeriodicTaskInline.fields
        # The admin reads readonly fields' labels from here before the model field's verbose_name.
        labels = {"task": _("Task Name")}


class PeriodicTaskInline(celery_beat_admin.PeriodicTaskInline):
    form = PeriodicTaskInlineForm


class PeriodicTaskForm(celery_beat_admin.PeriodicTaskForm):
    """The package's form, answering a field error instead of 500 where the package's checks fail on bad input: its
    ``clean`` reads ``task`` even when that field was refused (over 200 characters, a NUL: KeyError), and its JSON
    check lets a deeply nested ``args`` or ``kwargs`` raise RecursionError."""

    def clean(self):
        if "task" not in self.cleaned_data and not self.cleaned_data.get("regtask"):
            return self.cleaned_data  # the task field's own error says what is wrong
        return super().clean()

    def _clean_json(self, field):
        try:
            return super()._clean_json(field)
        except RecursionError:
            raise forms.ValidationError(_("Unable to parse JSON: %s") % _("nested too deeply")) from None


class PeriodicTaskAdmin(celery_beat_admin.PeriodicTaskAdmin):
    form = PeriodicTaskForm
    # The package's template with its JavaScript text translated.
    change_form_template = "admin/django_celery_beat/periodictask/change_form.html"
    list_filter = [
        ("task", TaskNameListFilter) if name == "task" else name
        for name in celery_beat_admin.PeriodicTaskAdmin.list_filter
    ]

    @admin.display(description=_("Scheduler"))
    def scheduler(self, obj):
        return obj.scheduler

    @admin.display(description=_("Crontab translation"))
    def crontab_translation(self, obj):
        if obj.crontab is None:
            return self.get_empty_value_display()
        return crontab_description(obj.crontab)

    def render_change_form(self, request, context, *args, **kwargs):
        # The package's changeform_view fills this (for the crontab help text) with server-locale descriptions.
        context["readable_crontabs"] = {
            crontab.id: crontab_description(crontab) for crontab in CrontabSchedule.objects.all()
        }
        return super().render_change_form(request, context, *args, **kwargs)


class CrontabScheduleAdmin(celery_beat_admin.CrontabScheduleAdmin):
    inlines = [PeriodicTaskInline]

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        # The time zone's default is callable, so Django adds a hidden "initial-timezone" input and reads it through
        # zoneinfo to see whether the field changed: a name over 255 characters there raised OSError (file name too
        # long), a 500. The change is seen against the form's own initial value instead.
        if isinstance(db_field, TimeZoneField):
            kwargs["show_hidden_initial"] = False
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.display(description=_("Human readable"))
    def human_readable(self, obj):
        return crontab_description(obj)


class IntervalScheduleAdmin(celery_beat_admin.IntervalScheduleAdmin):
    inlines = [PeriodicTaskInline]


class SolarScheduleAdmin(celery_beat_admin.SolarScheduleAdmin):
    inlines = [PeriodicTaskInline]


class ClockedScheduleAdmin(celery_beat_admin.ClockedScheduleAdmin):
    inlines = [PeriodicTaskInline]


# django-axes -------------------------------------------------------------------------------------------------------


def access_attempt_title(record: AccessAttempt) -> str:
    """``AccessAttempt.__str__`` in the active language."""
    return gettext("Attempted Access: {attempt_time}").format(attempt_time=record.attempt_time)


def access_log_title(record: AccessLog) -> str:
    """``AccessLog.__str__`` in the active language."""
    return gettext("Access Log for {username} @ {attempt_time}").format(
        username=record.username, attempt_time=record.attempt_time
    )


def access_failure_title(record: AccessFailureLog) -> str:
    """``AccessFailureLog.__str__`` in the active language."""
    if record.locked_out:
        text = gettext("Failed access: user {username} locked out on {attempt_time} from {ip_address}")
    else:
        text = gettext("Failed access: user {username} on {attempt_time} from {ip_address}")
    return text.format(username=record.username, attempt_time=record.attempt_time, ip_address=record.ip_address)


class RecordTitleMixin:
    """Shows ``record_title(obj)`` where the admin shows ``str(obj)`` on the change and history pages: the heading
    and the browser title (``subtitle``, ``title``) and the breadcrumbs (the two templates, through ``record_title``).
    """

    change_form_template = "admin/axes/record_change_form.html"
    object_history_template = "admin/axes/record_history.html"

    @staticmethod
    def record_title(obj) -> str:
        raise NotImplementedError

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["subtitle"] = context["record_title"] = self.record_title(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:  # else the package's view answers (redirects) as usual
            title = self.record_title(obj)
            extra_context = {
                "title": gettext("Change history: %s") % title,
                "record_title": title,
                **(extra_context or {}),
            }
        return super().history_view(request, object_id, extra_context)


class AccessAttemptAdmin(RecordTitleMixin, axes_admin.AccessAttemptAdmin):
    record_title = staticmethod(access_attempt_title)

    @admin.action(description=_("Clean up expired attempts"))
    def cleanup_expired_attempts(self, request, queryset):
        # django-axes reads the cool-off from the time of the sign-in it is handling, which it sets only on a
        # sign-in: from the admin's action that was an AttributeError, a 500 every time. None is "now".
        request.axes_attempt_time = None
        return super().cleanup_expired_attempts(request, queryset)

    @admin.display(description=_("Status"))
    def status(self, obj):
        return super().status(obj)


class AccessLogAdmin(RecordTitleMixin, axes_admin.AccessLogAdmin):
    record_title = staticmethod(access_log_title)


class AccessFailureLogAdmin(RecordTitleMixin, axes_admin.AccessFailureLogAdmin):
    record_title = staticmethod(access_failure_title)


def _replace(model, model_admin) -> None:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
        admin.site.register(model, model_admin)


_replace(PeriodicTask, PeriodicTaskAdmin)
_replace(CrontabSchedule, CrontabScheduleAdmin)
_replace(IntervalSchedule, IntervalScheduleAdmin)
_replace(SolarSchedule, SolarScheduleAdmin)
_replace(ClockedSchedule, ClockedScheduleAdmin)
# django-axes registers its admins only with AXES_ENABLE_ADMIN; without it there is nothing to replace.
_replace(AccessAttempt, AccessAttemptAdmin)
_replace(AccessLog, AccessLogAdmin)
_replace(AccessFailureLog, AccessFailureLogAdmin)
