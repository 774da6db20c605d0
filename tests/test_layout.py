"""The package's layers point one way, and its modules stay small enough to read."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "webapp"
MAX_LINES = 300


def _loaded_after(statement: str, prefix: str) -> list[str]:
    """The modules under `prefix` that `statement` loads in a fresh interpreter."""
    probe = f"import sys; {statement}; print('\\n'.join(m for m in sys.modules if m.startswith({prefix!r})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    return result.stdout.split()


def test_exotel_loads_no_call_service():
    assert _loaded_after("import webapp.exotel", "webapp.calls") == []


def test_exotel_is_pure():
    """The Exotel layer imports neither Flask nor the database nor any layer above it."""
    forbidden = ("flask", "flask_login", "flask_wtf", "sqlalchemy", "psycopg", "webapp")
    offenders = []
    for path in (PACKAGE / "exotel").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = ["webapp" if node.level > 1 else (node.module or "")]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in forbidden]
    assert offenders == []


def _imported_names(path: Path) -> set[str]:
    """Every module and name a file imports (`webapp.x` for relative imports, whatever their level)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_suppression_rules_live_in_one_service_and_no_view_touches_the_table():
    service = _imported_names(PACKAGE / "campaigns" / "suppressions.py")
    assert not {name for name in service if name.split(".")[0] in ("flask", "flask_login", "flask_wtf")}
    touching = [str(path.relative_to(PACKAGE)) for path in (PACKAGE / "web").rglob("*.py")
                if "Suppression" in _imported_names(path)]
    assert touching == []


def test_gateway_loads_no_simulator_module():
    assert _loaded_after("import webapp.gateway", "webapp.simulator") == []


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_module_is_short(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def _imports(tree: ast.Module) -> set[str]:
    """Sibling modules of webapp/web that a module imports (`from .x import`, `from . import x`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names.update(alias.name for alias in node.names)
    return names


def _defines_blueprint(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Blueprint" for node in ast.walk(tree)
    )


def test_no_view_module_imports_another():
    trees = {path.stem: ast.parse(path.read_text()) for path in (PACKAGE / "web").glob("*.py")}
    views = {name for name, tree in trees.items() if _defines_blueprint(tree)}
    assert views, "no blueprint found under webapp/web"
    crossing = {name: sorted(_imports(trees[name]) & (views - {name})) for name in views}
    assert {name: found for name, found in crossing.items() if found} == {}


def test_views_build_no_sql():
    """Blueprint modules import nothing of SQLAlchemy but its exception types."""
    offenders = []
    for path in (PACKAGE / "web").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if isinstance(node, ast.Import):
                module = ",".join(alias.name for alias in node.names)
            if module and "sqlalchemy" in module and module != "sqlalchemy.exc":
                offenders.append(f"{path.name}: {module}")
    assert offenders == []


def test_tests_and_bench_take_helpers_from_the_support_module():
    """pytest advises against importing conftest: shared helpers live in tests/support."""
    root = PACKAGE.parent
    offenders = [
        str(path.relative_to(root))
        for folder in ("tests", "bench")
        for path in (root / folder).rglob("*.py")
        if path != Path(__file__).resolve() and re.search(r"^\s*(from [\w.]*conftest import|import [\w.]*conftest)", path.read_text(), re.M)
    ]
    assert offenders == []
