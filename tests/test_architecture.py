"""The import graph of ``src/lookbook`` keeps the layer order of the README's architecture section.

Every import counts, module-level and lazy (inside a function) alike, and ``TYPE_CHECKING`` blocks
too: a layer that needs a lower one's names only for hints still depends on its shape. A module
imports its own room and lower layers only; rooms on one layer do not import each other; no two
files import each other, directly or around a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "lookbook"

#: Lowest first; the README's architecture section shows the same picture.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("schema",),
    ("tables", "metrics", "weights"),
    ("store", "datasets"),
    ("encoders", "models", "vision"),
    ("index",),
    ("ranking", "project"),
    ("touchpoints",),
    ("experiments",),
    ("serving", "evaluation", "pipeline"),
    ("cli",),
)
RANK = {room: depth for depth, rooms in enumerate(LAYERS) for room in rooms}
#: The package itself (``lookbook/__init__.py`` holds only ``__version__``, which every layer may
#: read) and ``python -m lookbook`` (the CLI's entry point).
OUTSIDE = {"lookbook", "lookbook.__main__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The module file an import names (``lookbook.a.b.C`` -> ``lookbook.a.b``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, source: str | None = None) -> set[str]:
    """Lookbook modules that ``module`` imports anywhere in its source (default: its file's).

    A name that is no module of the package comes back as ``"missing:<name>"``, so that an import of
    a module that was moved away fails here rather than when that line first runs."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lookbook"):
                    found.add(alias.name if alias.name in MODULES else f"missing:{alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                full = ".".join([*base, *([node.module] if node.module else [])])
            else:
                full = node.module or ""
            if not full.startswith("lookbook"):
                continue
            if full not in MODULES:
                found.add(f"missing:{full}")
                continue
            for alias in node.names:
                sub = f"{full}.{alias.name}"
                found.add(sub if sub in MODULES else full)
    found.discard(module)
    return found


GRAPH = {m: _imports(m) for m in MODULES}
EDGES = {m: {t for t in ts if not t.startswith("missing:")} for m, ts in GRAPH.items()}


def test_every_import_names_a_module_that_exists() -> None:
    missing = sorted(f"{m} -> {t[8:]}" for m, ts in GRAPH.items() for t in ts if t.startswith("missing:"))
    assert not missing, "imports of modules that do not exist:\n" + "\n".join(missing)


def _room(module: str) -> str:
    return module.split(".")[1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_every_room_has_a_layer() -> None:
    rooms = {_room(m) for m in MODULES if m not in OUTSIDE}
    assert rooms <= set(RANK), f"rooms missing from LAYERS: {sorted(rooms - set(RANK))}"


def test_imports_follow_the_layer_order() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        if module in OUTSIDE:
            continue
        for target in sorted(targets):
            if target == "lookbook" or target.startswith(
                "missing:"
            ):  # the package root: only ``__version__``
                continue
            if target == "lookbook.__main__" or (
                _room(target) != _room(module) and RANK[_room(target)] >= RANK[_room(module)]
            ):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_the_package_root_imports_nothing_of_its_own() -> None:
    assert not EDGES["lookbook"], "lookbook/__init__.py must stay below every layer"


def test_no_file_level_import_cycles() -> None:
    cycles = _cycles(EDGES)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_cycle_finder_on_small_graphs(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert _cycles(graph) == expected


def test_the_checker_sees_lazy_relative_and_type_checking_imports() -> None:
    """The photos stage's lazy import of the touchpoint layer was the kind of edge this must see."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from lookbook.store import open_store\n"
        "def stage():\n"
        "    from lookbook.touchpoints import api\n"
        "    import lookbook.ranking.stages\n"
        "from ..datasets.world import World\n"
        "from lookbook.nowhere import thing\n"
    )
    assert _imports("lookbook.index.spaces", source) == {
        "lookbook.store",
        "lookbook.touchpoints.api",
        "lookbook.ranking.stages",
        "lookbook.datasets.world",
        "missing:lookbook.nowhere",
    }


def test_the_readme_shows_these_layers() -> None:
    """The README's architecture section is the layer picture users read: it must be this one."""
    readme = (ROOT.parents[1] / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1]
    picture = section.split("```text\n", 1)[1].split("```", 1)[0]
    layers = tuple(
        tuple(room.strip() for room in group.split(",")) for group in " ".join(picture.split()).split("<")
    )
    assert layers == LAYERS
