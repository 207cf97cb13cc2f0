"""A stand-in for a web or worker process, for the application-settings tests (``test_appsettings.py``).

    python -m core.tests.settings_process        (DJANGO_SETTINGS_MODULE, DATABASE_URL or VAR_DIR, REDIS_URL set)

Reads one command a line from stdin and answers one line of JSON on stdout. Each command runs as one unit of
work the way the real processes run them: ``request ...`` between Django's request_started and request_finished
signals (a web request), ``task ...`` between Celery's task_prerun and task_postrun (a worker's task).

    request get KEY [STORE]          the value in force
    request ready PACKAGE USER       package_mark_ready, then whether a pickup code was issued
    request set KEY VALUE [STORE]    app_setting_set (the service that admin and the command use)
    request update KEY VALUE [STORE] AppSetting.objects.filter(...).update(value=...) (a bulk write)
    request command ARGS...          manage.py appsetting ARGS...
"""

import io
import json
import sys

import django

django.setup()

from celery.signals import task_postrun, task_prerun  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402

from core.appsettings import get_setting, get_spec  # noqa: E402
from core.models import AppSetting  # noqa: E402
from core.services import app_setting_set  # noqa: E402
from orders.models import Package, Store  # noqa: E402
from orders.services import package_mark_ready  # noqa: E402
from otp.models import PickupCode  # noqa: E402


def _store(code):
    return Store.objects.get(code=code) if code else None


def run(command, args):
    if command == "get":
        return get_setting(args[0], _store(args[1] if len(args) > 1 else None))
    if command == "ready":
        package = Package.objects.get(pk=args[0])
        package_mark_ready(package=package, actor=get_user_model().objects.get(username=args[1]), channel="web")
        return {"codeIssued": PickupCode.objects.filter(package=package).exists()}
    if command == "set":
        setting = app_setting_set(key=args[0], value=args[1], store=_store(args[2] if len(args) > 2 else None))
        return setting.value
    if command == "update":
        spec = get_spec(args[0])
        return AppSetting.objects.filter(key=spec.key, store=_store(args[2] if len(args) > 2 else None)).update(
            value=spec.parse(args[1])
        )
    if command == "command":
        out = io.StringIO()
        call_command("appsetting", *args, stdout=out)
        return out.getvalue().strip()
    raise ValueError(command)


def main():
    print(json.dumps("started"), flush=True)
    for line in sys.stdin:
        unit, command, *args = line.split()
        if unit == "request":
            request_started.send(sender=None, environ={})
        else:
            task_prerun.send(sender=None, task_id="settings-test", task=None, args=(), kwargs={})
        try:
            answer = run(command, args)
        except Exception as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        finally:
            if unit == "request":
                request_finished.send(sender=None)
            else:
                task_postrun.send(sender=None, task_id="settings-test", task=None, args=(), kwargs={}, retval=None)
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
