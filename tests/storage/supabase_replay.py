"""Replays the PostgREST responses in postgrest_responses.json to a supabase:// store.

The store's supabase-py client gets an ``httpx.MockTransport``: every request it sends is
recorded, matched against the routes a test declares, and answered with a stored response.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from quantalloc.storage.supabase_store import SupabaseStore
from quantalloc.storage.url import resolve

RESPONSES: dict[str, Any] = json.loads(
    Path(__file__).with_name("postgrest_responses.json").read_text()
)
KEY = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoiYW5vbiJ9.ZmFrZS1zaWduYXR1cmU"  # fake
ENV = {"SUPABASE_URL": "https://abcdefghij.supabase.co", "SUPABASE_ANON_KEY": KEY}
SCHEMA_ROUTE = ("GET", "quantalloc_schema", {"select": "version"}, "schema_version")

Route = tuple[str, str, dict[str, str], Any]


class Replay:
    """An httpx handler answering declared routes; ``name`` may be a list consumed in order."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = [(m, p, q, list(n) if isinstance(n, list) else n) for m, p, q, n in routes]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, path, params, name in self.routes:
            if request.method != method or request.url.path != f"/rest/v1/{path}":
                continue
            if any(request.url.params.get(k) != v for k, v in params.items()):
                continue
            if isinstance(name, list):
                name = name.pop(0)
            if isinstance(name, Exception):
                raise name
            recorded = RESPONSES[name]
            if recorded["json"] is None:
                return httpx.Response(recorded["status"], headers=recorded["headers"])
            return httpx.Response(
                recorded["status"], headers=recorded["headers"], json=recorded["json"]
            )
        raise AssertionError(f"unexpected request {request.method} {request.url}")

    def bodies(self, path: str) -> list[Any]:
        """JSON bodies of the requests sent to ``/rest/v1/<path>``."""
        return [json.loads(r.content) for r in self.requests if r.url.path == f"/rest/v1/{path}"]


def replay_store(routes: Sequence[Route], *, schema: bool = True) -> tuple[SupabaseStore, Replay]:
    """A supabase:// store whose HTTP requests are answered by ``routes``."""
    replay = Replay([SCHEMA_ROUTE, *routes] if schema else routes)
    client = httpx.Client(transport=httpx.MockTransport(replay))
    return SupabaseStore(resolve("supabase://", ENV), http_client=client), replay
