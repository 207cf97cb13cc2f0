"""The layers of docs/architecture.md hold: import-linter's contracts in pyproject.toml are kept.

``python3 dev.py test`` runs ``lint-imports`` before pytest; this test makes a plain ``pytest`` run check them too.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_of_pyproject_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout
