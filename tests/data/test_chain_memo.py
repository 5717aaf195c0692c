"""A validated chain file kept on disk reads back as the fresh parse exactly, and only for the
same bytes at the same path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from quantalloc.data import memo
from quantalloc.data.chain_memo import chain_key, load_chain
from quantalloc.data.chain_source import _load_file, _validated_file


def _files(shared: Path) -> list[Path]:
    nse = sorted((shared / "in" / "fo_bhavcopy").glob("BhavCopy_NSE_FO_*"))[:1]
    spx = sorted((shared / "us" / "options" / "spx_2019").glob("SPX_*"))[:1]
    return nse + spx


def test_a_kept_chain_is_the_fresh_parse_exactly(shared_data: Path, tmp_path: Path) -> None:
    with memo.configured(tmp_path / "memo"):
        for path in _files(shared_data):
            fresh, notes = _validated_file(path)
            _load_file.cache_clear()
            first, _ = _load_file(path, path.stat().st_mtime)  # parsed, then kept
            kept = load_chain(chain_key(path, path.read_bytes()))
            assert kept is not None, f"{path.name} was not kept"
            _load_file.cache_clear()
            again, again_notes = _load_file(path, path.stat().st_mtime)  # read back
            for frame in (first, kept, again):
                pd.testing.assert_frame_equal(frame, fresh, check_exact=True)
            assert again_notes == notes


def test_other_bytes_or_another_path_miss(shared_data: Path, tmp_path: Path) -> None:
    path = _files(shared_data)[0]
    with memo.configured(tmp_path / "memo"):
        _load_file.cache_clear()
        _load_file(path, path.stat().st_mtime)
        copy = tmp_path / path.name
        shutil.copyfile(path, copy)
        assert load_chain(chain_key(path, path.read_bytes())) is not None
        assert load_chain(chain_key(copy, copy.read_bytes())) is None  # the notes name the path
        assert load_chain(chain_key(path, path.read_bytes() + b"\n")) is None
