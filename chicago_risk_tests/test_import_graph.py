"""chicago_risk's modules import one another without a cycle: the layout is a layered graph
(config -> sources, storage -> ingest -> features -> models -> cost -> publish -> definitions),
so a newcomer can read any package without the ones above it.

The graph is built from the source itself (every `import` and `from ... import`, inside functions
too: a deferred import is still a dependency), module by module; a package's `__init__` counts as
a module of its own.
"""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import chicago_risk

ROOT = Path(chicago_risk.__file__).parent
PACKAGE = "chicago_risk"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The chicago_risk modules one import statement loads (`from pkg import name` is the module
    `pkg.name` when that is a module, else `pkg`)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:  # relative: resolve against this module's package
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != PACKAGE:
        return set()
    return {f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target for alias in node.names}


def import_graph() -> dict[str, set[str]]:
    """Each chicago_risk module -> the chicago_risk modules it imports."""
    paths = sorted(ROOT.rglob("*.py"))
    known = {_module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        module = _module_name(path)
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[module] = {
            target
            for node in ast.walk(tree)
            for target in _imported(node, module, path.name == "__init__.py", known)
            if target != module
        }
    return graph


def test_chicago_risk_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 50 and sum(map(len, graph.values())) > 100  # the walk saw the code
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        raise AssertionError(f"import cycle: {' -> '.join(error.args[1])}") from None


def test_the_graph_sees_deferred_imports_and_would_report_a_cycle():
    graph = import_graph()
    # build_sources imports the chosen source inside the function
    assert "chicago_risk.sources.socrata" in graph["chicago_risk.sources"]
    graph["chicago_risk.sources.socrata"].add("chicago_risk.sources")
    try:
        TopologicalSorter(graph).prepare()
    except CycleError:
        return
    raise AssertionError("a cycle added to the graph went unnoticed")
