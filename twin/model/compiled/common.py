"""Helpers shared by the compile_* functions: id lookup, frozen arrays, CSR adjacency."""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable, Iterable, TypeVar

import numpy as np
import pandas as pd

from twin.errors import NetworkError


_T = TypeVar("_T")


def per_network(compile_fn: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """Memoise a ``compile_*`` function per :class:`~twin.model.Network` object.

    A Network is immutable and the compiled arrays are read-only, so one compilation serves every
    solve of the same object (each edit returns a new Network, which compiles afresh). The cache
    holds weak references: it never keeps a network alive.
    """
    cache: "weakref.WeakKeyDictionary[Any, _T]" = weakref.WeakKeyDictionary()

    @functools.wraps(compile_fn)
    def wrapper(net: Any) -> _T:
        try:
            return cache[net]
        except KeyError:
            out = cache[net] = compile_fn(net)
            return out

    return wrapper


def frozen(values: Iterable[float] | np.ndarray, dtype: type | str = np.float64) -> np.ndarray:
    """A C-contiguous read-only copy of ``values``."""
    out = np.ascontiguousarray(np.array(values, dtype=dtype))
    out.setflags(write=False)
    return out


def ids(index: pd.Index) -> np.ndarray:
    """Asset ids as a read-only array of Python strings."""
    return frozen(index.to_numpy(dtype=object), dtype=object)


def positions(values: pd.Series, lookup: dict[str, int] | pd.Index, what: str, kind: str) -> np.ndarray:
    """Map id values to integer positions; -1 where the value is missing (None).

    ``lookup`` is an index of ids (position = place in the index) or a mapping id -> position.
    Vectorised (one hash-table pass in pandas). Raises :class:`NetworkError` naming the asset
    and column when an id is unknown.
    """
    if isinstance(lookup, pd.Index):
        keys, pos = lookup, None
    else:
        keys, pos = pd.Index(list(lookup.keys()), dtype=object), np.fromiter(lookup.values(), np.int64, len(lookup))
    raw = values.to_numpy(dtype=object)
    found = keys.get_indexer(raw) if len(raw) else np.zeros(0, np.int64)
    missing = np.zeros(len(raw), dtype=bool)
    unfound = np.flatnonzero(found < 0)
    if len(unfound):  # only ids not found can be missing values (None, NaN, NA)
        missing[unfound] = pd.isna(raw[unfound])
    bad = (found < 0) & ~missing
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise NetworkError(f"{kind} {values.index[i]!r}: {what} {values.iloc[i]!r} does not exist")
    out = np.full(len(values), -1, dtype=np.int64)
    hit = ~missing
    out[hit] = found[hit] if pos is None else pos[found[hit]]
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
