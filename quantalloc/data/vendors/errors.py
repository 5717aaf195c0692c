"""Errors a vendor raises, each a DataError (the CLI prints one line and exits with code 2).

``auto`` falls back to the next source on any :class:`VendorError`; a ConfigError (a bad date,
an unknown interval) stops it at once, since every source would refuse it alike.
"""

from __future__ import annotations

from quantalloc.errors import DataError


class VendorError(DataError):
    """A vendor could not serve a request; ``vendor`` names it."""

    def __init__(self, message: str, *, vendor: str) -> None:
        super().__init__(message)
        self.vendor = vendor


class CredentialsError(VendorError):
    """Credentials are missing, invalid or expired."""


class RateLimitError(VendorError):
    """The vendor kept refusing requests as too many after every retry."""


class UnknownSymbolError(VendorError):
    """The vendor does not list the symbol."""


class MarketClosedError(VendorError):
    """The range asked for holds no session (a weekend, a holiday, before the open)."""


class VendorUnavailableError(VendorError):
    """The vendor cannot be reached, or its client library is not installed."""


class RateLimited(Exception):
    """Raised by an adapter when the vendor answers "too many requests"; the pacer retries.

    ``retry_after`` is the wait the vendor asked for, in seconds, where it said one.
    """

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


__all__ = [
    "CredentialsError",
    "MarketClosedError",
    "RateLimitError",
    "RateLimited",
    "UnknownSymbolError",
    "VendorError",
    "VendorUnavailableError",
]
