"""``python3 dev.py start`` serves on PORT (default 8000): dev.py picks the port, honcho hands it to web."""

import importlib.util
from pathlib import Path

import pytest
from honcho.environ import expand_processes, parse_procfile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)  # no .env unless a test writes one
    return module


def test_the_port_is_8000_unless_port_is_set(dev):
    assert dev.web_port({}) == "8000"
    assert dev.web_port({"PORT": "8123"}) == "8123"


def test_a_port_line_in_dot_env_wins_as_it_does_in_honcho(dev):
    (dev.ROOT / ".env").write_text("DEBUG=true\nexport PORT='8200'\n")
    assert dev.start_env({"PORT": "8123"})["PORT"] == "8200"


def test_the_set_up_steps_see_dot_env_as_the_processes_do(dev):
    """honcho gives web, worker and beat the .env values over the environment's; migrate and seed_demo ran
    without them, so a VAR_DIR there had them set up var/ while the processes served another, empty database."""
    (dev.ROOT / ".env").write_text('# local\nVAR_DIR=/srv/cc/var\n\nDATABASE_URL="sqlite:////srv/cc/db.sqlite3"\n')
    env = dev.start_env({"VAR_DIR": "/elsewhere", "HOME": "/root"})
    assert env["VAR_DIR"] == "/srv/cc/var" and env["DATABASE_URL"] == "sqlite:////srv/cc/db.sqlite3"
    assert env["HOME"] == "/root" and env["PORT"] == "8000"


@pytest.mark.parametrize("port", ["abc", "0", "70000", "-1"])
def test_a_port_that_is_no_port_number_stops_start(dev, port):
    with pytest.raises(SystemExit, match="PORT must be a port number"):
        dev.web_port({"PORT": port})


def test_honcho_gives_the_port_to_the_web_process_of_procfile_dev():
    processes = parse_procfile((ROOT / "Procfile.dev").read_text()).processes
    assert next(iter(processes)) == "web"  # honcho gives the base port to the first process
    assert "127.0.0.1:$PORT" in processes["web"]
    web = next(p for p in expand_processes(processes, port=8123) if p.name == "web.1")
    assert web.env["PORT"] == "8123"
