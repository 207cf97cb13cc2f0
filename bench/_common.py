"""Helpers shared by the bench and drill scripts (not a test module, not part of the product).

- private servers: a Redis and a PostgreSQL cluster of the script's own, on their own ports, started
  and stopped by the script (the shared servers on 6379/5432 are never touched);
- configuring Django in the script's process for a ``bench*`` PostgreSQL database;
- gunicorn as a child process with production settings;
- a load driver (``python bench/_common.py drive IN OUT``) run as a separate process: threads with
  one ``http.client`` connection per request, bounded in count and in time, loopback only.

Only the standard library is imported at module level, so the driver starts fast and needs no Django.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable

# Fixed keys for bench runs only: the seeding process and the servers it starts must share them.
BENCH_KEYS = {
    "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "OTP_HASH_KEY": "bench-only-otp-hash-key-0123456789abcdef",  # 32+ characters, as production requires
    "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=",
}


# --- waiting for ports ------------------------------------------------------------------------------


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_port(port: int, *, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s")


def wait_port_closed(port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_open(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} still open after {timeout}s")


# --- a private Redis --------------------------------------------------------------------------------


class PrivateRedis:
    """``redis-server`` on its own port, no persistence, in a folder of its own."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir = port, workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken; choose another with --redis-port")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        """Stop this Redis (only the process this object started)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        wait_port_closed(self.port)


# --- a private PostgreSQL cluster ---------------------------------------------------------------------


def _pg_bin(name: str) -> str:
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not candidates:
        found = shutil.which(name)
        if not found:
            raise RuntimeError(f"{name} not found (PostgreSQL server binaries)")
        return found
    return str(candidates[-1])


class PrivatePostgres:
    """A throwaway cluster (initdb) on its own port, owned by the ``postgres`` OS user when run as root."""

    def __init__(self, port: int, datadir: Path):
        self.port, self.datadir = port, datadir
        self.socket_dir = datadir.parent / f"{datadir.name}-sock"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["su", "postgres", "-c", " ".join(_quote(part) for part in command)]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken; choose another with --pg-port")
        if self.datadir.exists():
            shutil.rmtree(self.datadir)
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        for folder in (self.datadir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(folder, "postgres", "postgres")
        self._run(_pg_bin("initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "server.log"),
            "-o",
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        )
        wait_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)
        wait_port_closed(self.port)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def createdb(self, name: str) -> None:
        self._run(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


# --- Django in the script's own process ------------------------------------------------------------------


def production_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a local production-like run: production settings, DEBUG off, no HTTPS redirect."""
    env = {
        **os.environ,
        **BENCH_KEYS,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DEBUG": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        # Never a real provider: SMS and push print masked lines. Production refuses `console` unless allowed
        # (notifications.checks, run by `migrate`). A script may choose `file` or its own backend in ``extra``.
        "NOTIFY_SMS_BACKEND": "console",
        "NOTIFY_PUSH_BACKEND": "console",
        "NOTIFY_ALLOW_CONSOLE": "true",
    }
    env.update(extra)
    return env


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate_and_empty(database_name: str) -> None:
    """Create the schema and empty the product's tables; only in a database named ``bench*`` or ``drill*``."""
    if not (database_name.startswith("bench") or database_name.startswith("drill")):
        raise SystemExit("refusing: the database name must start with 'bench' or 'drill' (its tables are emptied)")
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    tables = [
        model._meta.db_table
        for app in ("orders", "otp", "notifications", "core")
        for model in apps.get_app_config(app).get_models()
    ] + ["auth_user"]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(f'"{table}"' for table in tables) + " CASCADE")


def ensure_database(name: str, *, host: str = "127.0.0.1", port: int = 5432) -> None:
    listed = subprocess.run(
        [
            "psql",
            "-h",
            host,
            "-p",
            str(port),
            "-U",
            "postgres",
            "-Atc",
            f"SELECT 1 FROM pg_database WHERE datname='{name}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if listed.stdout.strip() != "1":
        subprocess.run(["createdb", "-h", host, "-p", str(port), "-U", "postgres", name], check=True)


def drop_database(name: str, *, host: str = "127.0.0.1", port: int = 5432) -> None:
    """Drop a bench's database (after its connections are closed) and say so."""
    subprocess.run(["dropdb", "-h", host, "-p", str(port), "-U", "postgres", name], check=False)
    print(f"dropped {name}")


# --- data ----------------------------------------------------------------------------------------------

PASSWORD = "bench-password-123"


def seed_ready_packages(*, packages: int, employees: int) -> tuple[list[str], list[tuple[str, str]]]:
    """N ready packages with known codes through the services; returns (usernames, [(package id, code)])."""
    from django.contrib.auth import get_user_model

    from notifications.crypto import decrypt
    from notifications.models import Message, MessageEvent
    from orders import services
    from orders.models import Customer, Order, Package, PackageItem, StaffMembership, StaffRole, Store

    store, _created = Store.objects.get_or_create(
        code="BEN01", defaults={"name": "Bench Store", "timezone": "Europe/Istanbul"}
    )
    users = []
    for index in range(employees):
        user, created = get_user_model().objects.get_or_create(username=f"bench{index}")
        if created:
            user.set_password(PASSWORD)
            user.save()
            StaffMembership.objects.create(user=user, store=store, role=StaffRole.EMPLOYEE)
        users.append(user)
    first = Order.objects.count()  # a second batch in the same database gets new numbers
    # Orders and packages are fixtures (intake is not what is measured); every state change is a service.
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Customer {index}",
            phone=f"+90532{index:07d}",
            email=f"c{index}@example.com",
            push_token=f"push-{index}",
            language="en",
        )
        for index in range(first, first + packages)
    )
    orders = Order.objects.bulk_create(
        Order(order_number=f"BENCH{first + index:07d}", customer=customer, store=store)
        for index, customer in enumerate(customers)
    )
    rows = Package.objects.bulk_create(Package(order=order, store=store) for order in orders)
    PackageItem.objects.bulk_create(PackageItem(package=p, sku="SKU-1", name="Sneakers", quantity=1) for p in rows)
    started = time.monotonic()
    for index, package in enumerate(rows):
        actor = users[index % len(users)]
        services.package_complete_packaging(package=package, actor=actor, channel="api")
        services.package_mark_ready(package=package, actor=actor, channel="api")
    print(f"  {packages} packages made ready through the services in {time.monotonic() - started:.1f}s")
    codes = {}
    # Read before any worker sends them: a sent message's encrypted code is wiped.
    for package_id, secret in Message.objects.filter(
        package__in=rows, event=MessageEvent.READY_FOR_PICKUP, channel="sms", secret_encrypted__isnull=False
    ).values_list("package_id", "secret_encrypted"):
        codes[str(package_id)] = decrypt(secret)
    missing = [str(p.pk) for p in rows if str(p.pk) not in codes]
    if missing:
        raise SystemExit(f"{len(missing)} packages have no readable code in the outbox")
    return [u.username for u in users], [(str(p.pk), codes[str(p.pk)]) for p in rows]


# --- gunicorn --------------------------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, *, env: dict[str, str], port: int, workers: int, log_path: Path):
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
        }
        self.port, self.log_path = port, log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is taken; choose another with --port")
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "config.wsgi:application", "--config", "config/gunicorn.conf.py"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(self.port, timeout=60)
        # Warm every worker (imports, first connections) before measuring.
        for _ in range(40):
            http_request("GET", self.port, "/healthz")

    def stop(self) -> None:
        stop_process_group(self.process, self._log)


def stop_process_group(process: subprocess.Popen | None, log=None) -> None:
    """SIGTERM a child started in its own session (its whole group), SIGKILL after 30 s; close its log."""
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    if log and not log.closed:
        log.close()


# --- HTTP ---------------------------------------------------------------------------------------------------


def http_request(method: str, port: int, path: str, body: dict | None = None, token: str | None = None, timeout=10):
    """(status, parsed JSON or None); status 0 for a connection error. Loopback only."""
    import http.client

    headers = {"Host": "127.0.0.1", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return response.status, parsed
    except (OSError, http.client.HTTPException):
        return 0, None
    finally:
        connection.close()


@dataclass
class LoadResult:
    name: str
    requests: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]

    def errors(self, ok: tuple[int, ...] = (200,)) -> int:
        return sum(count for status, count in self.statuses.items() if int(status) not in ok)

    def line(self) -> str:
        return (
            f"{self.name:<10} {self.requests:>6} req  {self.rps:8.1f} req/s  "
            f"p50 {self.percentile(50):7.1f} ms  p95 {self.percentile(95):7.1f} ms  p99 {self.percentile(99):7.1f} ms  "
            f"errors {self.errors()}  statuses {dict(sorted(self.statuses.items()))}"
        )


def run_driver(jobs: list[dict], *, port: int, concurrency: int, time_limit: float, name: str, workdir: Path):
    """Run the load driver as a separate process; returns its LoadResult.

    ``jobs``: [{"method", "path", "body"?, "token"?}], each sent once, in order, by ``concurrency`` threads.
    """
    source, target = workdir / f"{name}-jobs.json", workdir / f"{name}-result.json"
    source.write_text(json.dumps({"port": port, "concurrency": concurrency, "time_limit": time_limit, "jobs": jobs}))
    subprocess.run([PYTHON, str(Path(__file__)), "drive", str(source), str(target)], check=True)
    data = json.loads(target.read_text())
    return LoadResult(
        name=name,
        requests=data["requests"],
        seconds=data["seconds"],
        latencies_ms=data["latencies_ms"],
        statuses=data["statuses"],
    )


def _drive(source: Path, target: Path) -> None:
    spec = json.loads(source.read_text())
    jobs, port = spec["jobs"], spec["port"]
    deadline = time.monotonic() + spec["time_limit"]
    # Optional pacing: each thread waits this long between its requests (an open-ended load, not a burst).
    interval = float(spec.get("interval", 0))
    lock = threading.Lock()
    cursor = iter(range(len(jobs)))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    outcomes: list[dict] = [{} for _ in jobs]

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            job = jobs[index]
            started = time.perf_counter()
            status, body = http_request(job["method"], port, job["path"], job.get("body"), job.get("token"))
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                outcomes[index] = {
                    "status": status,
                    "code": (body or {}).get("code") if isinstance(body, dict) else None,
                }
            if interval:
                time.sleep(interval)

    threads = [threading.Thread(target=worker) for _ in range(spec["concurrency"])]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    target.write_text(
        json.dumps(
            {
                "requests": len(latencies),
                "seconds": seconds,
                "latencies_ms": latencies,
                "statuses": statuses,
                "outcomes": outcomes,
            }
        )
    )


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration, ValueError):
        memory_kb = 0
    return f"{os.cpu_count()} CPU(s), {model}, {memory_kb / 1024 / 1024:.1f} GiB RAM, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "drive":
        _drive(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit("usage: python bench/_common.py drive JOBS.json RESULT.json")


# --- the Procfile's worker and beat ---------------------------------------------------------------------


def procfile_command(process: str) -> list[str]:
    """The Procfile's line for ``process`` (``worker``, ``beat``) as an argument list, flags as written there;
    the program is the one in this checkout's ``.venv``."""
    import shlex

    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            argv = shlex.split(command)
            argv[0] = str(VENV_BIN / argv[0])
            return argv
    raise LookupError(f"no {process!r} line in {ROOT / 'Procfile'}")


class ProcfileProcess:
    """A Procfile process (``worker``, ``beat``) as a child in its own process group, logging to ``log_path``.

    The drills run the command lines production runs: a worker started with other flags (``--pool``,
    ``--concurrency``, ``--without-gossip``) missed the exit on a Redis outage (config/celery_redis.py)."""

    def __init__(self, process: str, *, env: dict[str, str], log_path: Path):
        self.argv = procfile_command(process)
        self.env = {**env, "PYTHONPATH": str(ROOT)}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return bool(self.process) and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self) -> list[int]:
        """A worker's pool processes (the ones that run tasks)."""
        if not self.process:
            return []
        listed = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in listed.stdout.split()]

    def kill_hard(self) -> None:
        """SIGKILL the whole process group at once: nothing is acknowledged or cleaned up."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if self._log:
            self._log.close()

    def stop(self) -> None:
        stop_process_group(self.process, self._log)


def wait_until(condition, *, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python manage.py ...`` in a child process with ``env``."""
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
