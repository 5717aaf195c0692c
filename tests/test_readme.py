"""Every ```bash block of the README runs as written and exits 0 (issue 18).

The blocks run in README order, one command at a time as a person types them, in a scratch
folder laid out as the project root is (``../shared/data`` beside it, ``examples/`` in it),
with a fresh home and data folder, offline (``auto`` falls back to the demo market, as on a new
machine). ``export`` lines carry into the later commands, and a command ending in ``&`` (a
server) is left running, once it answers ``/health``, until the test ends. Placeholders the
README spells in capitals (``USER:PASS@HOST/DB``) are the one substitution: they become the
test PostgreSQL server's URL. Commands that need a service this machine cannot reach (an IB
gateway, Docker, Kubernetes, a data vendor's API) are listed in NEEDS_OUTSIDE, and the test
checks they are the only ones left out. The two set-up blocks (``pip install`` and the test
run) are what ``.ci/run`` executes on every clean clone, so they are checked to be that same
command rather than run again inside the test run. The ```python block runs too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.server import free_port

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


NEEDS_OUTSIDE = {
    "quantalloc trade orb --mode live": "a running Interactive Brokers gateway",
    "docker build": "a Docker engine (none runs on this project's machines)",
    "kubectl apply": "a Kubernetes cluster",
    "quantalloc data fetch": "a market-data vendor's API (no network here but package registries)",
    "quantalloc backtest orb --data polygon:5m": "the Polygon cache that the fetch above fills",
}
"""Commands that need a service this machine cannot reach; the test checks they are the only
ones it does not run (the service's own tests cover the manifest and the IB adapter)."""


def _wait_for_health(port: int, proc: subprocess.Popen[str], seconds: float = 90) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server exited: {proc.communicate()[0][-2000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"no answer on port {port} within {seconds} s")


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
    blocks = readme_blocks("bash")
    tables = [b for b in blocks if "mkdir -p /tmp/replay" in b]
    ordered = tables + [b for b in blocks if b not in tables]  # the tables other blocks read
    servers: list[subprocess.Popen[str]] = []
    port = free_port()  # not the README's 8000: other runs on this machine may hold it
    ran, skipped = 0, set()
    try:
        for block in ordered:
            for command in commands(block):
                if _setup_block(block):
                    command = command.split("&&", 1)[1].strip()  # the install is .ci/run's job
                    if command.startswith("python -m pytest"):
                        continue  # this test is part of that run
                outside = [k for k in NEEDS_OUTSIDE if command.startswith(k)]
                if outside:
                    skipped.add(outside[0])
                    continue
                command = command.replace("postgresql://USER:PASS@HOST/DB", postgres_server.url)
                command = re.sub(r"(--port |localhost:|127\.0\.0\.1:)8000\b", rf"\g<1>{port}",
                                 command)  # fmt: skip
                if command.startswith("quantalloc trade") and "--api" not in command:
                    command += f" --api http://127.0.0.1:{port}"  # the README's default is :8000
                if command.startswith("export "):  # as the shell would keep it
                    name, _, value = command[len("export ") :].partition("=")
                    env[name] = value
                    continue
                if command.endswith("&"):  # a server, left running as a shell's job would be
                    proc = subprocess.Popen(
                        command[:-1], shell=True, cwd=root, env=env, text=True,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                    )  # fmt: skip
                    servers.append(proc)
                    _wait_for_health(int(re.search(r"--port (\d+)", command)[1]), proc)  # type: ignore[index]
                    ran += 1
                    continue
                started = time.perf_counter()
                done = subprocess.run(
                    command, shell=True, cwd=root, env=env, capture_output=True, text=True,
                    timeout=900,
                )  # fmt: skip
                print(f"{time.perf_counter() - started:6.1f} s  {command[:90]}")  # with -s
                assert done.returncode == 0, (
                    f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
                )
                ran += 1
        for block in readme_blocks("python"):
            done = subprocess.run(
                [sys.executable, "-c", block], cwd=root, env=env, capture_output=True, text=True,
                timeout=600,
            )  # fmt: skip
            assert done.returncode == 0, f"{block}\n{done.stderr[-3000:]}"
            ran += 1
    finally:
        for proc in servers:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    assert skipped == set(NEEDS_OUTSIDE)
    assert ran >= 30


def backtest_rows() -> list[tuple[str, list[str]]]:
    """The README's backtest table: (command, [period, total, CAGR, Sharpe, max DD, trades])."""
    rows = []
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].startswith("`quantalloc backtest"):
            rows.append((cells[0].split("`")[1], cells[1:]))
    return rows


FAST_ROWS = ("momentum", "orb", "wheel")
"""Rows checked here (a few seconds each); multi and the allocator replay take minutes."""


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [c for c, _ in backtest_rows() if c.split()[2] in FAST_ROWS],
    ids=lambda c: " ".join(c.split()[2:3] + c.split()[5:]),
)
def test_readme_backtest_figures_are_what_the_command_prints(
    command: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import shlex

    from typer.testing import CliRunner

    from quantalloc.backtest.plot import format_metric
    from quantalloc.cli.app import app

    figures = dict(backtest_rows())[command]
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "shared").symlink_to(shared_data.parent, target_is_directory=True)
    monkeypatch.chdir(project)
    out = tmp_path / "b.json"
    result = CliRunner().invoke(app, [*shlex.split(command)[1:], "--output", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    m = doc["metrics"]
    printed = [
        f"{doc['start']} .. {doc['end']}",
        *(format_metric(k, m[k]) for k in ("total_return", "cagr", "sharpe", "max_drawdown")),
        str(m["trades"]),
    ]
    assert printed == figures
