"""The package's layers point one way, and its modules stay small enough to read.

The layer map, top to bottom. A module may import its own layer and any layer
below it, never one above:

    wiring    webapp (create_app), webapp.cli, webapp.schema (every table),
              webapp.exotel_endpoint (which Exotel: the real one or the simulator)
    web       webapp.web: blueprints (pages/, api/, machines/), browser/ helpers,
              placing a call from a request
    jobs      webapp.jobs: the queue, its tasks, the worker
    services  webapp.calls, webapp.campaigns, webapp.accounts, webapp.reporting
    access    webapp.exotel (Exotel's API, pure), webapp.exotel_access (the app's
              client and request budget), webapp.models (the core tables)
    base      webapp.db, webapp.config, webapp.observability

webapp.simulator is an island: it imports nothing of webapp outside itself, and
only the wiring may import it, lazily, inside a function: building an app with
credentials loads none of it (test_the_app_wiring_loads_no_simulator_module).
Every module of the package is in exactly one layer or the island.

Every import statement counts, wherever it stands: at the top or inside a
function (a deferred import is how a cycle hides). Only those under
`if TYPE_CHECKING:` do not: they never run, they name types. An import
is an arrow to the deepest module it names (`from .pkg import mod` points at
pkg.mod when that is a module, else at pkg); the parent packages Python loads
on the way are not arrows, or every package that lists its modules would be
in a cycle with them.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "webapp"
MAX_LINES = 300

LAYERS: dict[str, tuple[str, ...]] = {  # top to bottom
    "wiring": ("webapp", "webapp.cli", "webapp.schema", "webapp.exotel_endpoint"),
    "web": ("webapp.web",),
    "jobs": ("webapp.jobs",),
    "services": ("webapp.calls", "webapp.campaigns", "webapp.accounts", "webapp.reporting", "webapp.alerts",
                 "webapp.webhooks"),
    "access": ("webapp.exotel", "webapp.exotel_access", "webapp.models", "webapp.signals"),
    "base": ("webapp.db", "webapp.config", "webapp.observability"),
}
ISLAND = "webapp.simulator"


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the module's layer (0 the top); None for the island."""
    if _within(module, ISLAND):
        return None
    for index, prefixes in enumerate(LAYERS.values()):
        if module in prefixes or any(prefix != "webapp" and _within(module, prefix) for prefix in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Each module of the package at `root` -> the package's modules it imports (any import, anywhere in it)."""
    paths = {module_name(root, path): path for path in root.rglob("*.py") if "__pycache__" not in path.parts}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        tree = ast.parse(path.read_text())
        skipped = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1])
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module or ""
                targets.update(f"{module}.{alias.name}" if f"{module}.{alias.name}" in paths else module
                               for alias in node.names)
        graph[name] = {_deepest(target, paths) for target in targets} - {None, name}  # type: ignore[misc]
    return graph


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The nodes under `if TYPE_CHECKING:`: imports for annotations only, never run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        test = node.test if isinstance(node, ast.If) else None
        if test is not None and "TYPE_CHECKING" in ast.unparse(test):
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
    return skipped


def _deepest(target: str, modules: Iterable[str]) -> str | None:
    known = set(modules)
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph`: its strongly connected parts of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def arrows_against_the_layers(graph: dict[str, set[str]]) -> list[str]:
    """Every import pointing up the layers, into the island, or out of it."""
    wrong = []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            source_layer, target_layer = layer_of(source), layer_of(target)
            if source_layer is None or target_layer is None:
                if (source_layer is None) != (target_layer is None) and source not in LAYERS["wiring"]:
                    wrong.append(f"{source} -> {target} (the simulator is an island only the wiring starts)")
            elif target_layer < source_layer:
                names = list(LAYERS)
                wrong.append(f"{source} -> {target} (up from {names[source_layer]} to {names[target_layer]})")
    return wrong


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph(PACKAGE)) == []


def test_every_import_points_down_the_layers():
    assert arrows_against_the_layers(import_graph(PACKAGE)) == []


def test_every_module_is_in_a_layer():
    for name in import_graph(PACKAGE):
        layer_of(name)  # raises for a module of no layer


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "webapp" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "webapp"


def test_the_checks_see_a_cycle_hidden_in_a_function(tmp_path):
    package = _write(tmp_path, {
        "__init__.py": "", "jobs/__init__.py": "from . import tasks\n",
        "jobs/tasks.py": "def run():\n    from . import get_jobs\n    from ..web import placing\n",
        "web/__init__.py": "", "web/placing.py": "from ..jobs import tasks\n",
    })
    graph = import_graph(package)
    assert graph["webapp.jobs.tasks"] == {"webapp.jobs", "webapp.web.placing"}
    assert cycles(graph) == [["webapp.jobs", "webapp.jobs.tasks", "webapp.web.placing"]]


def test_the_checks_see_an_arrow_up_the_layers_and_into_the_island(tmp_path):
    package = _write(tmp_path, {
        "__init__.py": "def make():\n    from .simulator import server\n",
        "db/__init__.py": "", "db/session.py": "def get():\n    from ..web.placing import place\n",
        "web/__init__.py": "", "web/placing.py": "from ..db import session\nfrom ..simulator import server\n",
        "simulator/__init__.py": "", "simulator/server.py": "from ..config import Settings\n",
        "config.py": "",
    })
    assert arrows_against_the_layers(import_graph(package)) == [
        "webapp.db.session -> webapp.web.placing (up from base to web)",
        "webapp.simulator.server -> webapp.config (the simulator is an island only the wiring starts)",
        "webapp.web.placing -> webapp.simulator.server (the simulator is an island only the wiring starts)",
    ]


def test_the_checks_pass_a_package_that_follows_the_layers(tmp_path):
    package = _write(tmp_path, {
        "__init__.py": "def make():\n    from .simulator import server\n    from .web import placing\n",
        "web/__init__.py": "", "web/placing.py": "from ..jobs import tasks\nfrom ..db import session\n",
        "jobs/__init__.py": "", "jobs/tasks.py": "from ..calls import placing\n",
        "calls/__init__.py": "", "calls/placing.py": "from ..exotel import client\nfrom ..models import Call\n",
        "exotel/__init__.py": "", "exotel/client.py": "", "models.py": "from .db import session\n",
        "db/__init__.py": "", "db/session.py": "", "simulator/__init__.py": "", "simulator/server.py": "from . import state\n",
        "simulator/state.py": "",
    })
    graph = import_graph(package)
    assert cycles(graph) == [] and arrows_against_the_layers(graph) == []


def exception_classes(root: Path) -> dict[str, list[str]]:
    """Each exception class name of the package -> the modules defining one by that name."""
    import builtins

    classes = [(module_name(root, path), node) for path in root.rglob("*.py") if "__pycache__" not in path.parts
               for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)]
    known = {name for name in dir(builtins) if isinstance(getattr(builtins, name), type)
             and issubclass(getattr(builtins, name), BaseException)}
    found: dict[str, list[str]] = {}
    grew = True
    while grew:  # an exception may derive from one defined further on
        grew = False
        for module, node in classes:
            bases = {ast.unparse(base).rpartition(".")[2] for base in node.bases}
            if module not in found.get(node.name, []) and (bases & known or any(
                    base.endswith(("Error", "Exception")) for base in bases)):
                found.setdefault(node.name, []).append(module)
                known.add(node.name)
                grew = True
    return found


def test_no_two_exception_classes_share_a_name():
    assert {name: modules for name, modules in exception_classes(PACKAGE).items() if len(modules) > 1} == {}


def test_the_exception_check_sees_a_shared_name(tmp_path):
    package = _write(tmp_path, {"__init__.py": "", "a.py": "class Conflict(ValueError): ...\n",
                                "b.py": "class Base(Exception): ...\nclass Conflict(Base): ...\n"})
    assert sorted(exception_classes(package)["Conflict"]) == ["webapp.a", "webapp.b"]


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


def test_the_app_wiring_loads_no_simulator_module():
    """With credentials, building the app and its Exotel client loads nothing of the simulator."""
    statement = (
        "import webapp, webapp.exotel_endpoint, webapp.exotel_access, webapp.web.placing, webapp.jobs.tasks; "
        "app = webapp.create_app({'TESTING': True, 'DATABASE_URL': 'sqlite://', 'EXOTEL_ACCOUNT_SID': 'a', "
        "'EXOTEL_API_KEY': 'k', 'EXOTEL_API_TOKEN': 't', 'PUBLIC_BASE_URL': 'https://calls.example.com'}); "
        "webapp.exotel_access.exotel_client(app)"
    )
    assert _loaded_after(statement, "webapp.simulator") == []


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


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_module_is_short(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def _imports(path: Path, tree: ast.Module) -> set[str]:
    """The webapp.web modules that a module imports (`from .x import`, `from ..pages import x`)."""
    package = module_name(PACKAGE, path) if path.name == "__init__.py" else module_name(PACKAGE, path).rpartition(".")[0]
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
    return {module_name(PACKAGE, path): (path, ast.parse(path.read_text())) for path in (PACKAGE / "web").rglob("*.py")}


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


def test_no_two_test_files_share_a_name():
    """The test folders are not packages: pytest imports each file by its base name, so a second file of the same
    name anywhere under tests/ fails to collect ("import file mismatch") in a full run, though it passes alone."""
    names = [path.name for path in Path(__file__).parent.rglob("test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []
