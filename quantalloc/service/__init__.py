"""The service layer: the portfolio's REST API (FastAPI) and the trading modes.

It sits at the top beside ``cli/``: it may import every other layer, and none imports it.
``create_app`` builds the app ``quantalloc serve`` runs under uvicorn.
"""

from quantalloc.service.app import API_KEY_HEADER, ServiceConfig, create_app

__all__ = ["API_KEY_HEADER", "ServiceConfig", "create_app"]
