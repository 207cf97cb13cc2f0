"""The code's shape (CONVENTIONS.md): no app module grows past a few hundred lines of topics, and the staff pages,
the API and admin build no queries of their own: they read through ``orders.selectors`` (or a service)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "core", "notifications", "orders", "otp")
MAX_LINES = 600
WEB_LAYER = ("orders/views", "orders/api", "orders/admin")
# What only a query of its own needs: a manager, or the ORM's aggregates and subqueries.
QUERY_NAMES = {"Count", "Exists", "OuterRef", "Subquery", "Sum", "Max", "Min", "Avg"}


def app_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" not in parts and "migrations" not in parts:
                yield path


def test_no_app_module_passes_600_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in app_modules()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize("package", WEB_LAYER)
def test_web_layer_reads_through_selectors(package):
    """No ``Model.objects`` and no aggregate or subquery in views, API or admin: the
    reads they need are named selectors (``orders.selectors``)."""
    modules = sorted((ROOT / package).glob("*.py"))
    assert modules, f"{package} is a package"
    found = []
    for path in modules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "objects":
                found.append(f"{path.name}:{node.lineno} .objects")
            elif isinstance(node, ast.ImportFrom) and node.module == "django.db.models":
                found += [f"{path.name}:{node.lineno} {a.name}" for a in node.names if a.name in QUERY_NAMES]
    assert found == []
