"""The engine and the solve() product stay readable: no function there over 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "quantalloc"
MAX_LINES = 80


def long_functions(folder: Path, limit: int = MAX_LINES) -> list[str]:
    """``path:name (lines)`` of every function in ``folder`` longer than ``limit`` lines."""
    out = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > limit:
                    out.append(f"{path.relative_to(PACKAGE)}:{node.name} ({lines})")
    return out


def test_no_long_function_in_the_engine_or_the_product() -> None:
    assert long_functions(PACKAGE / "allocation") == []
    assert long_functions(PACKAGE / "pipeline") == []


def test_the_check_finds_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def long():\n{body}\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        assert long_functions(tmp_path) == ["m.py:long (81)"]
    finally:
        PACKAGE = saved
