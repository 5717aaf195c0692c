"""`quantalloc solve --risk moderate > out.txt` leaves no HiGHS banner in out.txt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_highspy_prints_its_banner_to_fd_1_on_first_use(tmp_path: Path) -> None:
    """The reason for the fix: a bare first Highs() writes the banner to the process's stdout."""
    out = tmp_path / "bare.txt"
    with out.open("wb") as sink:
        subprocess.run(
            [sys.executable, "-c", "import highspy; highspy.Highs()"], stdout=sink, check=True
        )
    assert "Running HiGHS" in out.read_text()


@pytest.mark.slow
def test_solve_redirected_has_no_highs_line(tmp_path: Path) -> None:
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "quantalloc", "solve", "--risk", "moderate"],
            stdout=stdout,
            stderr=stderr,
            cwd=tmp_path,
            timeout=600,
        )
    text = out.read_text()
    assert done.returncode == 0, err.read_text()[-2000:]
    assert "Allocations" in text  # the report is there (the demo market allocates)
    assert "HiGHS" not in text and "HiGHS" not in err.read_text()
