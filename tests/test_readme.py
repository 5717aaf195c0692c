"""Every ```bash block of the README runs as written and exits 0 (issue 18).

The blocks run in README order in one shell per command, in a scratch folder laid out as the
project root is (``../shared/data`` beside it, ``examples/`` in it), with a fresh home and data
folder, offline (no network: ``auto`` falls back to the demo market, as on a new machine).
Placeholders the README spells in capitals (``USER:PASS@HOST/DB``) are the one substitution:
they become the test PostgreSQL server's URL. The two set-up blocks (``pip install`` and the
test run) are what ``.ci/run`` executes on every clean clone, so here they are checked to be
that same command rather than run again inside the test run. The ```python block runs too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

README = REPO_ROOT / "README.md"


def readme_blocks(kind: str) -> list[str]:
    """The README's fenced blocks of ``kind`` (``bash``, ``python``), in order."""
    return re.findall(rf"```{kind}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def commands(block: str) -> list[str]:
    """A block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = block.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        text = re.sub(r"\s+#\s.*$", "", line).strip()
        if text and not text.startswith("#"):
            out.append(text)
    return out


def _setup_block(block: str) -> bool:
    return "pip install" in block


def test_the_set_up_blocks_are_what_ci_runs() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    setup = [b for b in readme_blocks("bash") if _setup_block(b)]
    assert len(setup) == 2
    install_and_solve, install_and_test = (commands(b)[0] for b in setup)
    assert install_and_solve == "python -m pip install -e . && quantalloc solve --risk moderate"
    assert install_and_test.startswith('python -m pip install -e ".[test]"')
    assert 'python -m pip install -e ".[test]"' in ci and ci.rstrip().endswith("python -m pytest")


@pytest.mark.slow
@pytest.mark.postgres
def test_every_readme_command_block_exits_0(
    shared_data: Path,
    postgres_server,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "shared").symlink_to(shared_data.parent, target_is_directory=True)
    (root / "examples").symlink_to(REPO_ROOT / "examples", target_is_directory=True)
    home = tmp_path / "home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("QUANTALLOC_", "DATABASE"))},
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "160",
    }
    pg = postgres_server.url
    blocks = readme_blocks("bash")
    tables = [b for b in blocks if "mkdir -p /tmp/replay" in b]
    ordered = tables + [b for b in blocks if b not in tables]  # the tables other blocks read
    ran = 0
    for block in ordered:
        for command in commands(block):
            if _setup_block(block):
                command = command.split("&&", 1)[1].strip()  # the install is .ci/run's job
                if command.startswith("python -m pytest"):
                    continue  # this test is part of that run
            command = command.replace("postgresql://USER:PASS@HOST/DB", pg)
            done = subprocess.run(
                command, shell=True, cwd=root, env=env, capture_output=True, text=True,
                timeout=900,
            )  # fmt: skip
            assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
            ran += 1
    for block in readme_blocks("python"):
        done = subprocess.run(
            [sys.executable, "-c", block], cwd=root, env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"{block}\n{done.stderr[-3000:]}"
        ran += 1
    assert ran >= 25
