"""The package's architecture, checked: no private doors, no import circles, layers point down.

Every ``import`` and ``from ... import`` of every module under ``src/matchcore``
is read with :mod:`ast`, lazy imports inside functions included (only the
annotation-only ``if TYPE_CHECKING:`` blocks are left out: they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import matchcore

ROOT = Path(matchcore.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["matchcore", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for each import the module runs."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[str, str | None]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, None) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                for alias in child.names:
                    # `from pkg import sub` imports the submodule sub when there is one.
                    sub = f"{mod}.{alias.name}"
                    if sub in MODULES:
                        found.append((sub, None))
                    else:
                        found.append((mod, alias.name))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return [(m, n) for m, n in found if m == "matchcore" or m.startswith("matchcore.")]


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def test_every_module_is_found():
    assert {"matchcore", "matchcore.pipeline", "matchcore.solvers.phases",
            "matchcore.ledger.store", "matchcore.cli.common", "matchcore.plot.base",
            "matchcore.model.district", "matchcore.options"} <= set(MODULES)


def test_no_module_imports_a_private_name_of_another():
    doors = [
        f"{importer} imports {name} from {mod}"
        for importer, found in IMPORTS.items()
        for mod, name in found
        if mod != importer
        and (
            (name is not None and name.startswith("_") and not name.startswith("__"))
            or any(part.startswith("_") and not part.startswith("__")
                   for part in mod.split("."))
        )
    ]
    assert doors == []


def test_no_private_attribute_of_another_module_or_result():
    """No ``result._served``-style reach into another object's private state."""
    found = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name)
                    and node.value.id not in ("self", "cls")):
                found.append(f"{name}: {node.value.id}.{node.attr}")
    # ctypes' and sqlite3's own underscore names are theirs, not ours.
    assert [f for f in found if not f.endswith(("._conn", "._fields"))] == []


def test_the_module_import_graph_has_no_cycles():
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    for importer, found in IMPORTS.items():
        for mod, _ in found:
            target = mod
            while target not in MODULES and "." in target:
                target = target.rpartition(".")[0]
            # A module importing its own package's __init__ (from . import x) is the
            # package machinery, not a dependency on the package's public names.
            if (target != importer and not importer.startswith(target + ".")) or (
                target == "matchcore" and importer != "matchcore"
            ):
                graph.add_edge(importer, target)
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], f"import cycles: {cycles[:5]}"


# Each layer may import only the layers below it (DESIGN.md).
LAYERS = [
    {"matchcore.errors", "matchcore.checks", "matchcore.memory", "matchcore.wire"},
    # The lists: their columns and validation, and the cell, header and category rules.
    {"matchcore.schema", "matchcore.io", "matchcore.cells", "matchcore.headers",
     "matchcore.categories"},
    {"matchcore.model"},
    {"matchcore.solvers"},
    {"matchcore.options"},
    {"matchcore.metrics", "matchcore.geo"},
    {"matchcore.result"},
    {"matchcore.pipeline"},
    {"matchcore.analysis", "matchcore.synthetic"},
    {"matchcore.plot", "matchcore.ledger"},
    {"matchcore.distributed"},
    {"matchcore.cli", "matchcore.__main__"},
]


def _layer(module: str) -> int | None:
    for k, layer in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in layer):
            return k
    return None


@pytest.mark.parametrize("importer", sorted(m for m in MODULES if m != "matchcore"))
def test_layers_point_down(importer):
    mine = _layer(importer)
    assert mine is not None, f"{importer} is in no layer of DESIGN.md"
    upward = sorted(
        mod for mod, _ in IMPORTS[importer]
        if mod != "matchcore" and (_layer(mod) or 0) > mine
    )
    assert upward == [], f"{importer} (layer {mine}) imports upper layers: {upward}"


def test_import_matchcore_stays_light():
    """``import matchcore`` loads no plotting, no graph library and none of scipy
    (scipy.spatial and scipy.sparse were half of its import time): they are
    imported where they are used."""
    import subprocess
    import sys

    heavy = ("matplotlib", "networkx", "scipy", "ortools", "dask")
    code = ("import sys, matchcore; "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
