"""The package's imports run one way: the order of the README's Layout table, and no cycles.

Every ``import`` and ``from ... import`` in every module counts, those inside functions and
``if TYPE_CHECKING:`` blocks included. A module may import from its own row of the table or the
rows above it; ``quantalloc/__init__.py`` and ``__main__.py`` (the public entry) sit below all.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "quantalloc"
ENTRY = "<entry>"  # quantalloc/__init__.py and __main__.py


def layout_rows(readme: str) -> list[list[str]]:
    """The README Layout table's rows as lists of top-level names (``errors``, ``data``, ...)."""
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            rows.append(
                [n.rstrip("/").removesuffix(".py") for n in re.findall(r"`([^`]+)`", first)]
            )
    return rows


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (anywhere in the file)."""
    modules = {module_name(root, p): p for p in root.rglob("*.py")}
    top = root.name

    def resolve(name: str) -> str:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {resolve(a.name) for a in node.names if a.name.split(".")[0] == top}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] == top:
                    for a in node.names:
                        full = f"{node.module}.{a.name}"
                        found.add(full if full in modules else resolve(node.module))
        found.discard(name)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward(graph: dict[str, set[str]], rows: Iterable[Iterable[str]]) -> list[str]:
    """Imports from a module into a module of a lower row (rows listed top to bottom)."""
    rank = {name: i for i, row in enumerate(rows) for name in row}
    rank[ENTRY] = len(rank) + 1

    def layer(module: str) -> str:
        parts = module.split(".")
        return ENTRY if len(parts) == 1 or parts[1] == "__main__" else parts[1]

    unknown = sorted({layer(m) for m in graph} - set(rank))
    assert not unknown, f"modules missing from the README's Layout table: {unknown}"
    return [
        f"{m} -> {d}"
        for m, deps in sorted(graph.items())
        for d in sorted(deps)
        if rank[layer(d)] > rank[layer(m)]
    ]


def test_no_import_cycles() -> None:
    assert cycles(import_graph(PACKAGE)) == []


def test_no_import_from_a_lower_layer() -> None:
    rows = layout_rows((REPO / "README.md").read_text())
    assert rows[0][0] == "errors" and rows[-1] == ["cli"]
    assert upward(import_graph(PACKAGE), rows) == []


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    """A made-up package: a cycle held apart by an import inside a function, and a low layer
    reaching up; both are found."""
    pkg = tmp_path / "pkg"
    (pkg / "low").mkdir(parents=True)
    (pkg / "high").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "high" / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("from pkg.low import b\n")
    (pkg / "low" / "b.py").write_text(
        "def f():\n    from pkg.low.a import x\n    import pkg.high.c\n"
    )
    (pkg / "high" / "c.py").write_text("from pkg.low.d import y\n")
    (pkg / "low" / "d.py").write_text("y = 1\n")
    graph = import_graph(pkg)
    assert cycles(graph) == [["pkg.low.a", "pkg.low.b"]]
    assert upward(graph, [["low"], ["high"]]) == ["pkg.low.b -> pkg.high.c"]
    assert upward(graph, [["high"], ["low"]]) == ["pkg.high.c -> pkg.low.d"]
