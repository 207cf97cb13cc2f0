"""Clients generated from /api/schema/ agree with the server (SPEC 14).

- openapi-python-client generates a Python client, and the walk-through of docs/api.md runs through it against a
  live server: tokens, the ready packages, resend, verify (and its retry with an Idempotency-Key), the order's
  verify, the commands, intake (its 201 with Location), a refresh, and an API key.
- openapi-typescript generates the TypeScript types, and ``typescript_walkthrough.ts`` (the documented bodies, and
  the bodies the server refuses marked ``@ts-expect-error``) compiles with ``tsc --strict``. The two npm packages
  are installed into ``var/node`` (npm, from the registry); without npm the test is skipped, saying so.
"""

import importlib
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client as DjangoClient
from django.utils import timezone

from orders.models import ApiKeyScope, PackageStatus, StaffRole
from orders.services import api_key_create
from orders.tests.apiclient import _fresh_throttles  # noqa: F401 - autouse fixture
from orders.tests.factories import PASSWORD, integration_user

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
S = PackageStatus
NODE_PACKAGES = ("openapi-typescript@7.13.0", "typescript@5.9.3")
NODE_DIR = ROOT / "var" / "node"


def write_schema(directory: Path) -> Path:
    response = DjangoClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    path = directory / "schema.json"
    path.write_bytes(response.content)
    return path


def generate_python_client(directory: Path):
    schema = write_schema(directory)
    config = directory / "openapi-python-client.yml"
    config.write_text("package_name_override: pickup_api\nproject_name_override: pickup-api\n")
    run = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(directory / "pickup_api"),
            "--config",
            str(config),
            "--meta",
            "none",
        ],
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout, run.stdout  # every operation and model generated
    sys.path.insert(0, str(directory))
    for name in [name for name in sys.modules if name == "pickup_api" or name.startswith("pickup_api.")]:
        del sys.modules[name]
    return importlib.import_module("pickup_api")


@pytest.fixture
def walkthrough_data(store, employee, manager, make_package):
    """The demo's cast: ayse (employee, IST01), zeynep (manager), oms (order system); two ready packages and a
    waiting one."""
    ready = [make_package(S.READY_FOR_CUSTOMER_PICKUP) for _ in range(2)]
    waiting = make_package(S.WAITING)
    integration_user("oms")
    return {"ready": ready, "waiting": waiting}


@pytest.mark.django_db(transaction=True)
def test_the_walkthrough_runs_through_a_generated_python_client(
    live_server, settings, tmp_path, walkthrough_data, issued_code, store
):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/min", "anon": "100000/min"},
    }
    pickup_api = generate_python_client(tmp_path)
    from pickup_api.api.auth import auth_token_create, auth_token_refresh_create
    from pickup_api.api.orders import orders_create, orders_retrieve, orders_verify_otp
    from pickup_api.api.packages import packages_command, packages_list, packages_resend_otp, packages_verify_otp
    from pickup_api.models import (
        CustomerRequest,
        ItemRequest,
        OrderIntakeInputRequest,
        PackageCommandCancelRequest,
        PackageCommandCancelRequestCommand,
        PackageCommandMoveRequest,
        PackageCommandMoveRequestCommand,
        PackageRequest,
        PackagesListStatus,
        StaffTokenObtainRequest,
        StaffTokenRefreshRequest,
        VerifyWithCodeRequest,
    )

    anonymous = pickup_api.Client(base_url=live_server.url)

    def sign_in(username):
        answer = auth_token_create.sync_detailed(
            client=anonymous, body=StaffTokenObtainRequest(username=username, password=PASSWORD)
        )
        assert answer.status_code == 200, answer.content
        return answer.parsed

    # 1. Tokens for the employee ayse.
    tokens = sign_in("ayse")
    ayse = pickup_api.AuthenticatedClient(base_url=live_server.url, token=tokens.access)

    # 2. The packages ready for pickup.
    listed = packages_list.sync_detailed(client=ayse, status=PackagesListStatus.READY_FOR_CUSTOMER_PICKUP)
    assert listed.status_code == 200, listed.content
    assert {str(row.id) for row in listed.parsed.results} == {str(p.pk) for p in walkthrough_data["ready"]}
    package_id = listed.parsed.results[0].id
    package = next(p for p in walkthrough_data["ready"] if str(p.pk) == str(package_id))

    # 3. Resend the code (after the cooldown), with an empty body, as the schema allows.
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        resent = packages_resend_otp.sync_detailed(package_id, client=ayse)
    assert resent.status_code == 200, resent.content
    assert resent.parsed.data.package.otp.required is True

    # 4. Verify the code; the same request again with its Idempotency-Key answers the same 200.
    body = VerifyWithCodeRequest(otp=issued_code(package))
    verified = packages_verify_otp.sync_detailed(package_id, client=ayse, body=body, idempotency_key="walk-4")
    assert verified.status_code == 200, verified.content
    assert verified.parsed.data.package.status.value == S.DELIVERED
    again = packages_verify_otp.sync_detailed(package_id, client=ayse, body=body, idempotency_key="walk-4")
    assert again.status_code == 200 and again.content == verified.content
    assert again.headers["Idempotent-Replayed"] == "true"

    # The same through the order, for the other ready package.
    other = next(p for p in walkthrough_data["ready"] if p.pk != package.pk)
    by_order = orders_verify_otp.sync_detailed(
        other.order_id, client=ayse, body=VerifyWithCodeRequest(otp=issued_code(other))
    )
    assert by_order.status_code == 200, by_order.content
    assert by_order.parsed.data.order.order_status.value == "picked_up"
    assert by_order.parsed.data.order.status.value == "picked_up"

    # 5. Other commands: ayse packs the waiting package, the manager zeynep cancels it.
    waiting_id = walkthrough_data["waiting"].pk
    packed = packages_command.sync_detailed(
        waiting_id,
        client=ayse,
        body=PackageCommandMoveRequest(command=PackageCommandMoveRequestCommand.COMPLETE_PACKAGING_WITHOUT_SHIPMENT),
    )
    assert packed.status_code == 200 and packed.parsed.data.package.status.value == S.PACKED_ALL_ITEMS
    zeynep = pickup_api.AuthenticatedClient(base_url=live_server.url, token=sign_in("zeynep").access)
    cancelled = packages_command.sync_detailed(
        waiting_id,
        client=zeynep,
        body=PackageCommandCancelRequest(
            command=PackageCommandCancelRequestCommand.CANCEL_PACKAGE, reason="customer called"
        ),
    )
    assert cancelled.status_code == 200 and cancelled.parsed.data.package.status.value == S.CANCELLED

    # 6. Order intake by the order system, without deliveryType (in_store when left out).
    oms = pickup_api.AuthenticatedClient(base_url=live_server.url, token=sign_in("oms").access)
    intake = OrderIntakeInputRequest(
        order_number="WEB-100300",
        customer=CustomerRequest(name="Mert Aydın", phone="0533 444 55 66", email="mert@example.com"),
        store="IST01",
        packages=[PackageRequest(items=[ItemRequest(sku="SKU-1", name="Kettle", quantity=2)])],
    )
    created = orders_create.sync_detailed(client=oms, body=intake, idempotency_key="WEB-100300")
    assert created.status_code == 201, created.content
    assert created.headers["Location"] == f"{live_server.url}/api/orders/{created.parsed.id}/"
    assert created.parsed.packages[0].status.value == S.WAITING
    assert orders_create.sync_detailed(client=oms, body=intake).status_code == 200

    # 7. Refreshing the access token.
    refreshed = auth_token_refresh_create.sync_detailed(
        client=anonymous, body=StaffTokenRefreshRequest(refresh=tokens.refresh)
    )
    assert refreshed.status_code == 200 and refreshed.parsed.access

    # An API key instead of a person's token: the same client, another prefix.
    _key, plaintext = api_key_create(
        name="till",
        scopes=[ApiKeyScope.PACKAGES_READ, ApiKeyScope.ORDERS_READ],
        stores=[store],
        role=StaffRole.EMPLOYEE,
    )
    till = pickup_api.AuthenticatedClient(base_url=live_server.url, token=plaintext, prefix="Api-Key")
    read = orders_retrieve.sync_detailed(created.parsed.id, client=till)
    assert read.status_code == 200 and read.parsed.order_number == "WEB-100300"
    assert int(read.headers["RateLimit-Remaining"]) < int(read.headers["RateLimit-Limit"])
    assert read.headers["X-Request-Id"]


def node_tools() -> Path:
    """var/node/node_modules/.bin with openapi-typescript and tsc, installed by npm from the registry once."""
    bin_dir = NODE_DIR / "node_modules" / ".bin"
    marker = NODE_DIR / "installed.txt"
    if not (marker.exists() and marker.read_text() == " ".join(NODE_PACKAGES) and (bin_dir / "tsc").exists()):
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        run = subprocess.run(
            ["npm", "install", "--prefix", str(NODE_DIR), "--no-save", "--no-audit", "--no-fund", *NODE_PACKAGES],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        marker.write_text(" ".join(NODE_PACKAGES))
    return bin_dir


@pytest.mark.django_db
@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm (Node.js) to install openapi-typescript and tsc")
def test_a_typescript_client_from_openapi_typescript_compiles_with_tsc_strict(tmp_path):
    bin_dir = node_tools()
    schema = write_schema(tmp_path)
    generated = subprocess.run(
        [str(bin_dir / "openapi-typescript"), str(schema), "--output", str(tmp_path / "api.d.ts")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    shutil.copy(Path(__file__).with_name("typescript_walkthrough.ts"), tmp_path / "walkthrough.ts")
    compiled = subprocess.run(
        [
            str(bin_dir / "tsc"),
            "--strict",
            "--noEmit",
            "--target",
            "es2022",
            "--module",
            "es2022",
            "--moduleResolution",
            "bundler",
            str(tmp_path / "walkthrough.ts"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
