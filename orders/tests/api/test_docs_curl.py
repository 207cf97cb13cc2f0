"""docs/api.md, "Walk-through: API keys and safe retries", run as written against a live server (SPEC 14).

The ``sh`` blocks run in order. A block of ``manage.py apikey`` lines runs each line with the command itself, its
arguments expanded by bash (the live server's test database is not reachable from another process on SQLite);
every other block runs in bash (``set -euo pipefail``) with curl and jq, the variables of the blocks before it
carried over. The ``# ...`` lines under a command are the output the page shows: each must be in the block's
output, ids and the server's address aside.
"""

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from orders.models import ApiKey, AuditKind, AuditRecord, Order, PackageStatus
from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse fixture

ROOT = Path(__file__).resolve().parents[3]
SECTION = "## Walk-through: API keys and safe retries"
MANAGE = re.compile(
    r"^(?:(?P<var>[A-Z_]+)=\$\()?\.venv/bin/python manage\.py (?P<args>apikey .*?)(?P<tail> \| tail -n 1\))?$"
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ORIGIN = re.compile(r"https?://[\w.\-]+(:\d+)?")


def section_blocks() -> list[str]:
    text = (ROOT / "docs" / "api.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return re.findall(r"```sh\n(.*?)```", text[start : end if end > 0 else None], re.S)


def normalized(text: str) -> list[str]:
    lines = []
    for line in text.replace("\r", "").splitlines():
        line = ORIGIN.sub("<origin>", UUID.sub("<uuid>", line.strip()))
        lines.append(re.sub(r"^HTTP/1\.[01]", "HTTP/1.1", line))
    return lines


def expected_output(block: str) -> list[str]:
    return [line[2:] for line in block.splitlines() if line.startswith("# ")]


def run_operator_block(block: str, variables: dict) -> str:
    output = []
    for line in filter(None, (line.strip() for line in block.splitlines())):
        match = MANAGE.match(line)
        assert match, f"not a manage.py apikey line: {line}"
        words = subprocess.run(
            ["bash", "-c", f'printf "%s\\0" {match["args"]}'],
            env=variables,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\0")[:-1]
        out = io.StringIO()
        call_command(*words, stdout=out)
        output.append(out.getvalue())
        if match["var"]:
            variables[match["var"]] = out.getvalue().strip().splitlines()[-1]
    return "".join(output)


def run_shell_block(block: str, variables: dict, directory: Path) -> str:
    state = directory / "state.env"
    # allexport: what a block assigns reaches env, and so the next block.
    script = f"set -euo pipefail -o allexport\n{block}\nenv -0 > {state}\n"
    run = subprocess.run(
        ["bash", "-c", script], env=variables, cwd=directory, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, f"{block}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
    variables.clear()
    variables.update(entry.split("=", 1) for entry in state.read_text().split("\0") if "=" in entry)
    return run.stdout


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq, as the walk-through does"
)
def test_the_api_key_walkthrough_runs_as_written(live_server, settings, store, make_package, tmp_path):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "600/min", "anon": "60/min"},
    }
    ready = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    variables = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "API": f"{live_server.url}/api"}
    blocks = section_blocks()
    assert len(blocks) >= 6
    for block in blocks:
        operator = all(
            MANAGE.match(line.strip()) for line in block.splitlines() if line.strip() and not line.startswith("#")
        )
        output = run_operator_block(block, variables) if operator else run_shell_block(block, variables, tmp_path)
        shown = normalized(output)
        for line in normalized("\n".join(expected_output(block))):
            assert line in shown, f"{line!r} not in the output of:\n{block}\n--- output\n{output}"

    ready.refresh_from_db()
    assert ready.status == PackageStatus.DELIVERED
    delivered = AuditRecord.objects.filter(package=ready, kind=AuditKind.TRANSITION, to_status=PackageStatus.DELIVERED)
    assert delivered.count() == 1  # two requests, one hand-over
    assert Order.objects.filter(order_number="WEB-100301").count() == 1
    till = ApiKey.objects.get(name="IST01 till 1")
    assert till.revoked_at is not None and variables["TILL_KEY"].startswith(till.prefix + ".")
