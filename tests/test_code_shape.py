"""The engine and the solve() product stay readable: no function there over 80 lines, and the
pipeline's seam to the engine stays thin."""

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


ENGINE_LINES_BEFORE = 401
"""Lines of ``pipeline/engine.py`` when issue 12 was filed (``git show
26b1d4b^:quantalloc/pipeline/engine.py``): it built a second Allocator and redid the engine's
band solve, repair and row values."""


def test_the_pipeline_seam_to_the_engine_is_about_half_its_old_size() -> None:
    """Issue 12: ``pipeline/engine.py`` (now ``pipeline/sizing.py``, which only translates the
    model into engine terms and back) at most ~55% of its 401 lines."""
    lines = len((PACKAGE / "pipeline" / "sizing.py").read_text().splitlines())
    assert lines <= 0.55 * ENGINE_LINES_BEFORE, f"pipeline/sizing.py has {lines} lines"
    assert not (PACKAGE / "pipeline" / "engine.py").exists()


def test_the_check_finds_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def long():\n{body}\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        assert long_functions(tmp_path) == ["m.py:long (81)"]
    finally:
        PACKAGE = saved
