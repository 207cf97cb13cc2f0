"""WEBHOOK_TIMEOUT and WEBHOOK_DEADLINE are read at start: a value that cannot bound a webhook try stops the start
with a message naming the variable, and WEBHOOK_DEADLINE defaults to three times WEBHOOK_TIMEOUT."""

import os
import subprocess
import sys

import pytest

SHOW = (
    "import django; django.setup(); from django.conf import settings as s; print(s.WEBHOOK_TIMEOUT, s.WEBHOOK_DEADLINE)"
)


def _start(**variables):
    env = {key: value for key, value in os.environ.items() if not key.startswith("WEBHOOK_")}
    return subprocess.run(
        [sys.executable, "-c", SHOW], env={**env, **variables}, capture_output=True, text=True, check=False
    )


def test_the_deadline_defaults_to_three_timeouts_and_can_be_set():
    assert _start().stdout.split() == ["10.0", "30.0"]
    assert _start(WEBHOOK_TIMEOUT="4").stdout.split() == ["4.0", "12.0"]
    assert _start(WEBHOOK_TIMEOUT="4", WEBHOOK_DEADLINE="4").stdout.split() == ["4.0", "4.0"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"WEBHOOK_TIMEOUT": "0"}, "WEBHOOK_TIMEOUT=0 must be a number of seconds above 0"),
        ({"WEBHOOK_TIMEOUT": "-3"}, "WEBHOOK_TIMEOUT=-3 must be a number of seconds above 0"),
        ({"WEBHOOK_DEADLINE": "5"}, "WEBHOOK_DEADLINE=5 must be a number of seconds at least WEBHOOK_TIMEOUT (10)"),
        (
            {"WEBHOOK_TIMEOUT": "2", "WEBHOOK_DEADLINE": "1.5"},
            "WEBHOOK_DEADLINE=1.5 must be a number of seconds at least",
        ),
    ],
)
def test_a_value_that_cannot_bound_a_try_stops_the_start(variables, message):
    run = _start(**variables)
    assert run.returncode != 0 and run.stdout == ""
    assert message in run.stderr
