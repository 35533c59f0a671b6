"""The layout's guarantees, read from the code's own imports (STYLE.md, "Shape"):

- dependencies point one way: departments ← appeals ← sla ← engagement ← reports, and core
  imports none;
- a read module (selectors) never imports a write module (services);
- no two files of one app import each other, directly or around a loop;
- reports read appeals and clocks through selectors: they never import a service, lock a row or
  use another app's managers.
"""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ["core", "departments", "appeals", "sla", "engagement", "leads", "reports", "config"]
# Each app may import the apps before it in this list, never those after (config wires all).
ORDER = {app: i for i, app in enumerate(APPS)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[_module_name(path)] = path
    return modules


MODULES = _sources()


def _imports(path: Path) -> set[str]:
    """Every module of ours that the file imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from appeals import services" imports the module appeals.services.
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        found.update(name for name in names if name in MODULES)
    return found


GRAPH = {module: _imports(path) for module, path in MODULES.items()}


def _app(module: str) -> str:
    return module.split(".")[0]


def test_apps_import_only_the_apps_below_them():
    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if ORDER[_app(target)] > ORDER[_app(module)]
    ]
    assert upward == []


def test_core_imports_none_of_our_apps():
    assert [
        t for m, ts in GRAPH.items() if _app(m) == "core" for t in ts if _app(t) != "core"
    ] == []


def test_no_read_module_imports_a_write_module():
    def is_read(module: str) -> bool:
        return module.split(".")[-1] == "selectors" or module.endswith("codes")

    def is_write(module: str) -> bool:
        return "services" in module.split(".")

    assert [
        f"{m} imports {t}" for m, ts in GRAPH.items() if is_read(m) for t in ts if is_write(t)
    ] == []


def _cycles_within(app: str) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan), imports inside the app.
    A package's __init__ that only re-exports its own modules is its face, not a file that
    they import back."""
    nodes = [m for m in GRAPH if _app(m) == app]
    edges = {
        m: {t for t in GRAPH[m] if _app(t) == app and not m.startswith(t + ".")} for m in nodes
    }
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("app", APPS)
def test_no_files_of_an_app_import_each_other_in_a_loop(app):
    assert _cycles_within(app) == []


# The models whose rows belong to the loop and its clocks.
LOOP_MODELS = {"Appeal", "Assignment", "Reply", "Rating", "Clock", "Escalation", "TimelineEvent"}


def test_reports_read_appeals_and_clocks_only_through_selectors():
    problems = []
    for module, path in MODULES.items():
        if _app(module) != "reports":
            continue
        problems += [f"{module} imports {t}" for t in GRAPH[module] if "services" in t.split(".")]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "select_for_update":
                problems.append(f"{module} calls .{node.attr}()")
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "objects"
                and isinstance(node.value, ast.Name)
                and node.value.id in LOOP_MODELS
            ):
                problems.append(f"{module} uses {node.value.id}.objects")
    assert problems == []


def test_the_layout_guard_sees_the_whole_house():
    # A guard that read nothing would pass; these files must be among what it read.
    for module in ("appeals.selectors", "appeals.services.filing", "sla.models", "reports.rates"):
        assert module in GRAPH
    assert "sla.calendar" in GRAPH["sla.models"]
    assert defaultdict(set, GRAPH)["reports.rates"] >= {"appeals.selectors", "sla.selectors"}
