"""The one place that knows about Streamlit caching: the shared DuckDB connection and cached queries.

Pages call `query(some_rrrs_core_function, *args)`; results are cached per database and arguments and
dropped by `data_changed()` after any write made in the app (the app holds DuckDB's write lock, so no
other process can change the file behind its back).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import duckdb
import streamlit as st

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


def connection() -> duckdb.DuckDBPyConnection:
    """A per-call cursor on the shared connection: DuckDB connections are not shared across threads."""
    root, catalog = _root(db_location())
    return store.cursor(root, catalog)


# (module, function name, database, args, sorted kwargs): one argument, because Streamlit inspects the
# function's signature once per argument on every cached call.
Call = tuple[str, str, str, tuple[Any, ...], tuple[Any, ...]]


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(call: Call) -> Any:
    module, name, _db, args, kwargs = call
    fn = getattr(importlib.import_module(module), name)
    return fn(connection(), *args, **dict(kwargs))


def query(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an `rrrs_core` read function `fn(con, *args)` through the data cache."""
    return _cached_call((fn.__module__, fn.__qualname__, db_location(), args, tuple(sorted(kwargs.items()))))


def data_changed() -> None:
    """Call after any write so every page recomputes from the new data."""
    st.cache_data.clear()


@st.cache_data(show_spinner=False, max_entries=256)
def _chart_spec(call: tuple[str, str, tuple[Any, ...], tuple[Any, ...]]) -> dict[str, Any]:
    module, name, args, kwargs = call
    fn = getattr(importlib.import_module(module), name)
    return fn(*args, **dict(kwargs)).to_dict()


def chart(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The Vega-Lite spec of an `rrrs_core.charts` builder, cached on its inputs: building and validating a
    multi-panel Altair chart costs hundreds of milliseconds, far more than the query behind it. Render the
    result with `st.vega_lite_chart` (what `st.altair_chart` does internally)."""
    return _chart_spec((fn.__module__, fn.__qualname__, args, tuple(sorted(kwargs.items()))))
