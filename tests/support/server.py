"""A real ``quantalloc serve`` process on a free loopback port, for tests that speak HTTP to it.

Nothing is mocked: the server is the console command under uvicorn, in its own process, and
the tests drive it with httpx. ``running_server`` waits until ``/health`` answers and stops it
(SIGTERM, then SIGKILL) afterwards; ``kill()`` ends it at once (SIGKILL) for crash tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

API_KEY = "test-key-7f3a"
START_TIMEOUT_S = 90.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server: where it listens, its process and its log file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, *, key: str | None = API_KEY, timeout: float = 120.0) -> httpx.Client:
        """An HTTP client for the server, sending ``key`` as X-API-Key (None: no key)."""
        headers = {} if key is None else {"X-API-Key": key}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def kill(self) -> None:
        """``kill -9``: no shutdown handler, no commit, no cleanup runs."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@contextmanager
def running_server(
    store_url: str,
    folder: Path,
    *,
    data: str = "demo",
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """Start ``quantalloc serve`` on a free port with ``store_url``; stop it afterwards."""
    port = free_port()
    log = folder / f"server-{port}.log"
    full_env = {
        **os.environ,
        "QUANTALLOC_API_KEY": API_KEY,
        "QUANTALLOC_DB": str(folder / "unused-default.db"),
        **(env or {}),
    }
    full_env.pop("DATABASE_URL", None)
    cmd = [sys.executable, "-m", "quantalloc", "serve", "--host", "127.0.0.1", "--port",
           str(port), "--store", store_url, "--data", data, *args]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited at start:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(server.url + "/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT_S} s")
