"""The one place that knows about Streamlit caching: the shared DuckDB connection and cached queries.

Pages call `query(some_rrrs_core_function, *args)`; results are cached per store, store version and
arguments. The version is `store.data_version`, which moves after any committed data write by any process:
on the shared store another app server or a command-line import changes the data behind this server's
back, so a cache keyed on time alone would show stale pages, and one never emptied would show them forever.
A server asks for the version at most once every `FRESH_SECONDS` (one catalog query, a few milliseconds;
on the embedded file a counter in this process), so a write anywhere shows here within about a second, and
at once after a write made here (`data_changed`).
"""

from __future__ import annotations

import importlib
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import pandas as pd
import streamlit as st
from streamlit.dataframe_util import convert_anything_to_arrow_bytes

from rrrs_core import store

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _root(path: str) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """The shared connection, and whether the store is its attached encrypted catalog (asked once). Also the
    moment to remove upload folders that a killed server left behind (`uploads.clean_leftovers`)."""
    from rrrs_core.importing.uploads import clean_leftovers

    clean_leftovers()
    con = store.connect(path)
    return con, store.attached(con)


def db_location() -> str:
    return str(store.db_path())


_mine = threading.local()  # this thread's cursor: (the shared connection it came from, the cursor)


def connection() -> duckdb.DuckDBPyConnection:
    """This thread's cursor on the shared connection (DuckDB connections are not shared across threads).

    Made once per thread (a Streamlit script run is one thread) and reused by every call in it: a new cursor
    must select the store's catalog (`USE`), which costs 2.5-4 ms on the shared store, and a page asks for
    the connection several times a run. A thread uses its cursor one query at a time, as it did its many."""
    root, catalog = _root(db_location())
    held = getattr(_mine, "held", None)
    if held is None or held[0] is not root:
        held = _mine.held = (root, store.cursor(root, catalog))
    return held[1]


FRESH_SECONDS = 1.0  # how stale a page may be after a write made by another process
_versions: dict[str, tuple[float, object]] = {}  # store -> (when asked, version): shared by the server's sessions
_versions_lock = threading.Lock()


def data_version() -> object:
    """The store's data version, asked of the store at most once every `FRESH_SECONDS` per server process."""
    where, now = db_location(), time.monotonic()
    with _versions_lock:
        known = _versions.get(where)
    if known is not None and now - known[0] < FRESH_SECONDS:
        return known[1]
    version = store.data_version(connection())
    with _versions_lock:
        _versions[where] = (now, version)
    return version


# (module, function name, (store, data version), args, sorted kwargs): one argument, because Streamlit inspects
# the function's signature once per argument on every cached call.
Call = tuple[str, str, tuple[str, object], tuple[Any, ...], tuple[Any, ...]]


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(call: Call) -> Any:
    module, name, _store, args, kwargs = call
    fn = getattr(importlib.import_module(module), name)
    return fn(connection(), *args, **dict(kwargs))


def query(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an `rrrs_core` read function `fn(con, *args)` through the data cache."""
    where = (db_location(), data_version())
    return _cached_call((fn.__module__, fn.__qualname__, where, args, tuple(sorted(kwargs.items()))))


def data_changed() -> None:
    """Call after any write made in this server: its own sessions see it at the next query (the version is
    asked again at once), and the results cached under older versions are dropped."""
    with _versions_lock:
        _versions.clear()
    _cached_call.clear()


def compact(rows: list[dict[str, Any]]) -> bytes:
    """A chart dataset as Arrow IPC bytes, which `st.vega_lite_chart` sends as they are (it converts a list of
    rows to Arrow on every run otherwise). A text column with repeated values (a segment strip's row label,
    date, lane and kind repeat for each of its 816 cells) is dictionary-encoded, and integers take the
    narrowest type: the browser gets the same values in a fraction of the bytes."""
    frame = pd.DataFrame(rows)
    for col in frame.columns:
        values = frame[col].dropna()
        if len(values) and values.map(type).eq(str).all() and values.nunique() * 2 <= len(values):
            frame[col] = frame[col].astype("category")
        elif pd.api.types.is_integer_dtype(frame[col].dtype):
            frame[col] = pd.to_numeric(frame[col], downcast="integer")
    return convert_anything_to_arrow_bytes(frame)


def _frame_key(frame: pd.DataFrame) -> bytes:
    """A chart input's cache key: its pickle, ~0.5 ms where Streamlit's own hash of a frame (row hashes of
    every column) costs 3-9 ms, and a page hashes its frames again for each chart on every run. Different
    frames never pickle alike; equal frames that pickled differently would only miss the cache."""
    return pickle.dumps(frame, protocol=5)


@st.cache_data(show_spinner=False, max_entries=256, hash_funcs={pd.DataFrame: _frame_key})
def _chart_spec(call: tuple[str, str, tuple[Any, ...], tuple[Any, ...]]) -> dict[str, Any]:
    module, name, args, kwargs = call
    fn = getattr(importlib.import_module(module), name)
    spec = fn(*args, **dict(kwargs)).to_dict()
    if isinstance(spec.get("datasets"), dict):
        spec["datasets"] = {k: compact(v) if isinstance(v, list) and v and isinstance(v[0], dict) else v
                            for k, v in spec["datasets"].items()}
    return spec


def chart(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The Vega-Lite spec of an `rrrs_core.charts` builder, cached on its inputs: building and validating a
    multi-panel Altair chart costs hundreds of milliseconds, far more than the query behind it. Render the
    result with `st.vega_lite_chart` (what `st.altair_chart` does internally)."""
    return _chart_spec((fn.__module__, fn.__qualname__, args, tuple(sorted(kwargs.items()))))
