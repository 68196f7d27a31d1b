"""Running a page of the real app under AppTest against a given database file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(monkeypatch: pytest.MonkeyPatch, db: Path, page: str | None = None,
              params: dict[str, str] | None = None, *, secrets: dict[str, Any] | None = None,
              user: dict[str, Any] | None = None) -> AppTest:
    """Run app.py once (st.navigation needs a first run), then switch to `pages/<page>.py` with URL params.

    `secrets` and `user` simulate a configured sign-in and the identity the provider returned."""
    monkeypatch.setenv("RRRS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    if secrets:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"pages/{page}.py")
        at.run()
    return at


def open_clean(monkeypatch: pytest.MonkeyPatch, db: Path, page: str, **params: str) -> AppTest:
    """`open_page`, insisting that the page shows neither an exception nor an error box."""
    at = open_page(monkeypatch, db, page, params)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def caseload_dyads(table: Any) -> list[str]:
    """The caseload rows' dyad ids, from their links: the browser gets only the columns the table shows."""
    return table.dyad_link.str.extract(r"dyad=([^&]*)")[0].tolist()


def all_text(at: AppTest) -> str:
    """Every piece of text a user can read on the page, including table cells."""
    parts = [e.value for e in [*at.markdown, *at.caption, *at.title, *at.header, *at.subheader, *at.info,
                               *at.warning, *at.error, *at.success, *at.text]]
    parts += [str(m.label) + " " + str(m.value) for m in at.metric]
    parts += [df.value.to_string() for df in at.dataframe]
    parts += [t.value.to_string() if hasattr(t.value, "to_string") else str(t.value) for t in at.table]
    return "\n".join(str(p) for p in parts)


def headers(table: Any) -> list[str]:
    """The column headers a user sees on an AppTest dataframe: each shown column's configured label, or its
    name when it has none (hidden columns and a hidden index left out)."""
    config = json.loads(table.proto.columns or "{}")
    shown = list(table.proto.column_order) or [str(c) for c in table.value.columns]
    return [(config.get(c) or {}).get("label") or c for c in shown if not (config.get(c) or {}).get("hidden")]


def column_type(table: Any, column: str) -> str | None:
    """The configured column type ("multiselect", "link", ...) of one column, None when not configured."""
    return ((json.loads(table.proto.columns or "{}").get(column) or {}).get("type_config") or {}).get("type")


def dataframe_heights(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The `height` each st.dataframe call asks for, in call order (AppTest does not expose a table's
    height); fills as the page runs."""
    import streamlit as st

    heights: list[object] = []
    real = st.dataframe

    def spy(*args: object, **kwargs: object) -> object:
        heights.append(kwargs.get("height"))
        return real(*args, **kwargs)

    monkeypatch.setattr(st, "dataframe", spy)
    return heights
