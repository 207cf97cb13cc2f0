#!/usr/bin/env python3
"""The two commands of the README, on a fresh machine with only Python installed.

    python3 dev.py start   # venv, requirements, migrate, demo data, then web + worker + beat
    python3 dev.py test    # venv, requirements, the import contracts, then the whole test suite (extra args go to pytest)

`start` serves on port 8000, or on the port in the environment variable PORT (PORT=8001 python3 dev.py start).

Only the standard library is used here, since nothing else exists before the venv does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
REQUIREMENTS = ROOT / "requirements-dev.txt"
STAMP = VENV / ".requirements.sha256"


def run(*args: str | Path, env: dict | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=True)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256(
        b"".join(path.read_bytes() for path in (ROOT / "requirements.txt", REQUIREMENTS))
    ).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("Installing requirements ...", flush=True)
        run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS)
        STAMP.write_text(wanted)


def django_env(**extra: str) -> dict:
    env = {**os.environ, **extra}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def dotenv() -> dict[str, str]:
    """The ``KEY=value`` lines of ``.env``, read as honcho reads them (``export``, quotes and comments allowed)."""
    path = ROOT / ".env"
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.removeprefix("export ").partition("=")
            if sep and key.strip():
                values[key.strip()] = value.strip().strip("'\"")
    return values


def start_env(environment: dict) -> dict:
    """The environment of ``start``'s own steps and of the processes honcho starts: honcho gives web, worker and
    beat the values of ``.env`` over the environment's, so migrate and seed_demo must see the same (a VAR_DIR in
    ``.env`` would otherwise have them set up one database and the processes serve another)."""
    env = {**environment, **dotenv()}
    env["PORT"] = web_port(env)
    return env


def web_port(env: dict) -> str:
    """The web server's port: PORT, else 8000. Honcho hands it to web, and PORT+100, +200 to the next processes."""
    port = env.get("PORT", "") or "8000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        sys.exit(f"PORT must be a port number (1-65535), not {port!r}.")
    return port


def start(argv: list[str]) -> None:
    ensure_venv()
    env = start_env(django_env())
    port = env["PORT"]
    var_dir = Path(env.get("VAR_DIR") or ROOT / "var")
    var_dir.mkdir(parents=True, exist_ok=True)
    outbox = env.get("OUTBOX_DIR") or var_dir / "outbox"
    run(PYTHON, "manage.py", "migrate", "--noinput", env=env)
    run(PYTHON, "manage.py", "setup_schedules", env=env)
    run(PYTHON, "manage.py", "seed_demo", env=env)
    print(
        f"\nClick & Collect is starting on http://127.0.0.1:{port}/  (admin: http://127.0.0.1:{port}/admin/)\n"
        "Demo logins (created with the password demo12345): admin (administrator), ayse (employee, IST01),\n"
        "mehmet (employee, ANK01), zeynep (manager, IST01 and ANK01), oms (order system API).\n"
        f"Customer messages are written to {outbox}/. Stop everything with Ctrl-C.\n",
        flush=True,
    )
    honcho = shutil.which("honcho", path=str(BIN)) or str(BIN / "honcho")
    os.chdir(ROOT)
    os.execve(honcho, [honcho, "-f", "Procfile.dev", "start", *argv], env)


def test(argv: list[str]) -> None:
    ensure_venv()
    env = django_env(DJANGO_SETTINGS_MODULE="config.settings.test")
    # The layers and the absence of import cycles first (import-linter's contracts in pyproject.toml): a broken
    # contract stops the run before the tests, as a failing test would.
    lint_imports = shutil.which("lint-imports", path=str(BIN)) or str(BIN / "lint-imports")
    contracts = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, env=env)
    if contracts.returncode:
        sys.exit(contracts.returncode)
    result = subprocess.run([str(PYTHON), "-m", "pytest", *argv], cwd=ROOT, env=env)
    sys.exit(result.returncode)


def main() -> None:
    commands = {"start": start, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
