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


def test_gateway_loads_no_simulator_module():
    assert _loaded_after("import webapp.web.placing", "webapp.simulator") == []


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_module_is_short(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, tree: ast.Module) -> set[str]:
    """The webapp.web modules that a module imports (`from .x import`, `from ..pages import x`)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
            target = f"{base}.{node.module}" if node.module else base
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _defines_blueprint(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Blueprint" for node in ast.walk(tree)
    )


def _web_modules() -> dict[str, tuple[Path, ast.Module]]:
    """Every module under webapp/web, its subpackages included."""
    return {_module_name(path): (path, ast.parse(path.read_text())) for path in (PACKAGE / "web").rglob("*.py")}


def test_no_view_module_imports_another():
    modules = _web_modules()
    views = {name for name, (_path, tree) in modules.items() if _defines_blueprint(tree)}
    assert views, "no blueprint found under webapp/web"
    crossing = {name: sorted(_imports(*modules[name]) & (views - {name})) for name in views}
    assert {name: found for name, found in crossing.items() if found} == {}


def test_views_build_no_sql():
    """Blueprint modules import nothing of SQLAlchemy but its exception types."""
    offenders = []
    for name, (_path, tree) in _web_modules().items():
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if isinstance(node, ast.Import):
                module = ",".join(alias.name for alias in node.names)
            if module and "sqlalchemy" in module and module != "sqlalchemy.exc":
                offenders.append(f"{name}: {module}")
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
