"""A worker's Python warnings are JSON log lines in production (docs/operations.md, *Logs*).

Celery warns with ``warnings.warn`` before it sets up logging (a worker run as root: ``SecurityWarning``, five plain
lines on stderr), so a collector reading one JSON object per line could not parse them. The worker's start is
replayed in a fresh interpreter with the production environment: the signal Celery sends just before that check,
then the warning it gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.testing import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parent.parent.parent

SCRIPT = """
import warnings
from celery.exceptions import SecurityWarning
from celery.signals import celeryd_init
from config.celery_app import app

celeryd_init.send(sender="worker@host", instance=None, conf=app.conf, options={})
warnings.warn(SecurityWarning("You're running the worker with superuser privileges: this is\\nabsolutely not recommended!"))
"""


def test_a_warning_at_worker_start_is_one_json_line():
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV and key != "LOG_FORMAT"}
    env.update(PRODUCTION_ENV)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses
    [warning] = [record for record in records if record["logger"] == "py.warnings"]
    assert warning["level"] == "WARNING"
    assert "SecurityWarning: You're running the worker with superuser privileges" in warning["message"]
