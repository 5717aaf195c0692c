"""The page at ``/``: allocation, its history as a chart, the regime and the latest runs.

A static file: its script asks for the API key (or takes it from ``#key=...`` in the address,
which never reaches the server) and draws from the API's own endpoints.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def page_html() -> str:
    """The page's HTML text."""
    return files("quantalloc.service").joinpath("static", "index.html").read_text("utf-8")
