#!/usr/bin/env python
"""What keeping application settings current costs a request (SPEC 5, ``core/appsettings.py``).

    .venv/bin/python bench/settings_check.py [--redis-url redis://127.0.0.1:6379/13] [--number 20000]

One request or task = ``unit_begin``, a few settings reads, ``unit_end``. Timed with the snapshot current (the
steady state: one cache read), for the file cache of local runs and, given ``--redis-url``, Redis; then a reload
after a change (once per process per change) and the read when the cache is down (the database's token). The
database is SQLite in a temporary directory, migrated here; the Redis keys are this script's own and removed after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def per_call_ms(statement, number):
    return min(timeit.repeat(statement, number=number, repeat=5)) / number * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--number", type=int, default=20000)
    options = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="settings-check-")
    os.environ.update(
        {"DJANGO_SETTINGS_MODULE": "config.settings.local", "VAR_DIR": var_dir, "DATABASE_URL": "", "REDIS_URL": ""}
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import caches
    from django.core.management import call_command
    from django.test.utils import override_settings

    from core import appsettings
    from core.appsettings import get_setting, invalidate_cache
    from core.services import app_setting_set

    call_command("migrate", verbosity=0)

    def request():
        appsettings.unit_begin()
        get_setting("IS_OTP_ENABLED", None)
        get_setting("OTP_TTL_SECONDS", None)
        get_setting("ALLOW_MANUAL_CONFIRM", None)
        appsettings.unit_end()

    def reload():
        invalidate_cache()
        request()

    caches_under_test = {"file cache": settings.CACHES}
    if options.redis_url:
        caches_under_test["redis"] = {
            "default": {"BACKEND": "core.cache.RedisCache", "LOCATION": options.redis_url, "KEY_PREFIX": "bench"}
        }
    for name, config in caches_under_test.items():
        with override_settings(CACHES=config):
            app_setting_set(key="OTP_TTL_SECONDS", value=300)
            request()  # the snapshot loaded, the token in the cache
            print(f"{name:10} request, snapshot current: {per_call_ms(request, options.number):.4f} ms")
            print(f"{name:10} request after a change (reload): {per_call_ms(reload, options.number // 20):.4f} ms")
            caches["default"].delete(appsettings.CACHE_KEY)
    down = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}}
    with override_settings(CACHES=down):
        request()  # the cache is noted as down: the next requests read the database's token
        print(f"{'cache down':10} request, snapshot current: {per_call_ms(request, options.number // 20):.4f} ms")
    print("baseline: a settings read within the request (values already checked): ", end="")
    appsettings.unit_begin()
    get_setting("IS_OTP_ENABLED", None)
    print(f"{per_call_ms(lambda: get_setting('IS_OTP_ENABLED', None), options.number):.4f} ms")
    appsettings.unit_end()


if __name__ == "__main__":
    main()
