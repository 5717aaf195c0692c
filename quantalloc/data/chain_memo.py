"""Validated chain files kept on disk (:mod:`quantalloc.data.memo`), keyed by their bytes.

A replay on NSE's F&O bhavcopy reads a 10,000-row file per session: parsing it and validating
the chain took ~75 ms a file, 2.2 s of a six-week replay. A second run reads the validated
columns back instead. The key is the file's bytes, its path (the notes name it, and a file's
name can carry its symbol), :data:`CHAIN_SPEC` and the versions of pandas, numpy and pyarrow;
an edited file is another key. A frame whose columns do not round-trip exactly (text that is
not all strings, an index other than 0..n-1) is not kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from quantalloc.data import memo

CHAIN_SPEC = "validated chain file v1"
"""What a kept chain is (part of its key): change it whenever parsing or validation changes
what they return."""


def chain_key(path: Path, content: bytes) -> str:
    """The memo key of the validated chain of ``path`` holding ``content``."""
    return memo.key(CHAIN_SPEC, memo.versions("pandas", "numpy", "pyarrow"), str(path), content)


def load_chain(digest: str) -> pd.DataFrame | None:
    """The kept chain (with its ``attrs["notes"]``), or None."""
    arrays = memo.load_arrays("chains", digest)
    if arrays is None:
        return None
    try:
        names = [str(n) for n in arrays["columns"]]
        text = {str(n) for n in arrays["text"]}
        columns = {
            n: pd.array(arrays[f"c{i}"].tolist(), dtype="str") if n in text else arrays[f"c{i}"]
            for i, n in enumerate(names)
        }
        frame = pd.DataFrame(columns)
        frame.attrs["notes"] = [str(n) for n in arrays["notes"]]
    except (KeyError, TypeError, ValueError):
        return None
    return frame


def store_chain(digest: str, chain: pd.DataFrame) -> None:
    """Keep ``chain`` when its columns round-trip exactly (see the module notes)."""
    if not isinstance(chain.index, pd.RangeIndex) or chain.index.start != 0:
        return
    arrays: dict[str, np.ndarray] = {"columns": np.array([str(c) for c in chain.columns])}
    text = []
    for i, (name, column) in enumerate(chain.items()):
        if isinstance(column.dtype, pd.StringDtype):
            values = column.to_numpy()
            if not all(isinstance(v, str) for v in values):
                return
            arrays[f"c{i}"] = np.array(values.tolist(), dtype=str)
            text.append(str(name))
        elif column.dtype.kind in "fiubM":
            arrays[f"c{i}"] = column.to_numpy()
        else:
            return
    arrays["text"] = np.array(text, dtype=str)
    arrays["notes"] = np.array([str(n) for n in chain.attrs.get("notes", ())], dtype=str)
    memo.store_arrays("chains", digest, arrays)


__all__ = ["CHAIN_SPEC", "chain_key", "load_chain", "store_chain"]
