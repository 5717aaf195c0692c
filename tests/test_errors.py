"""QuantallocError.hinted: the caller's hint keeps the error's kind and its parameter names."""

from __future__ import annotations

from quantalloc.data.vendors.errors import UnknownSymbolError
from quantalloc.errors import ConfigError, DataError


def test_hinted_keeps_the_kind_and_adds_the_params() -> None:
    exc = ConfigError("`capital` must be > 0", params="capital")
    out = exc.hinted(f"{exc} (the replay's `params`)", "params")
    assert type(out) is ConfigError
    assert out.params == ("capital", "params")
    assert str(out) == "`capital` must be > 0 (the replay's `params`)"


def test_a_vendor_error_becomes_the_library_kind_it_derives_from() -> None:
    exc = UnknownSymbolError("no symbol XYZ", vendor="polygon")  # VendorError takes vendor=
    out = exc.hinted(f"{exc}; pass `vix`", "vix")
    assert type(out) is DataError
    assert out.params == ("vix",)
