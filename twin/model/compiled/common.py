"""Helpers shared by the compile_* functions: id lookup, frozen arrays, CSR adjacency."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from twin.errors import NetworkError


def frozen(values: Iterable[float] | np.ndarray, dtype: type | str = np.float64) -> np.ndarray:
    """A C-contiguous read-only copy of ``values``."""
    out = np.ascontiguousarray(np.array(values, dtype=dtype))
    out.setflags(write=False)
    return out


def ids(index: pd.Index) -> np.ndarray:
    """Asset ids as a read-only array of Python strings."""
    return frozen(list(index), dtype=object)


def positions(values: pd.Series, lookup: dict[str, int], what: str, kind: str) -> np.ndarray:
    """Map id values to integer positions; -1 where the value is missing (None).

    Raises :class:`NetworkError` naming the asset and column when an id is unknown.
    """
    out = np.empty(len(values), dtype=np.int64)
    for i, (aid, v) in enumerate(values.items()):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out[i] = -1
            continue
        try:
            out[i] = lookup[v]
        except KeyError:
            raise NetworkError(f"{kind} {aid!r}: {what} {v!r} does not exist") from None
    out.setflags(write=False)
    return out


def csr(owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR grouping of items by owner: ``items[indptr[k]:indptr[k+1]]`` belong to owner k."""
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=n) if len(owner) else np.zeros(n, dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return frozen(indptr, np.int64), frozen(order, np.int64)


def series_csr(table: pd.DataFrame, key: str, order_col: str, value_cols: tuple[str, ...],
               names: list[str]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Pack a long table (pattern rows, curve points) as CSR over ``names``, sorted by ``order_col``."""
    lookup = {n: i for i, n in enumerate(names)}
    if len(table):
        owner = np.array([lookup[k] for k in table[key]], dtype=np.int64)
        order = np.lexsort((table[order_col].to_numpy(), owner))
    else:
        owner = np.zeros(0, dtype=np.int64)
        order = owner
    counts = np.bincount(owner, minlength=len(names)) if len(owner) else np.zeros(len(names), np.int64)
    indptr = np.zeros(len(names) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    values = tuple(frozen(table[c].to_numpy(dtype=float)[order]) for c in value_cols)
    return frozen(indptr, np.int64), values
