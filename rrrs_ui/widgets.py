"""Widgets every page shares: error guard, provenance banner, empty state, scope and URL state, and a
file uploader that can be emptied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from rrrs_core.errors import NotFoundError, RrrsError
from rrrs_core.queries import directory
from rrrs_core.scope import Scope
from rrrs_ui.glue import query
from rrrs_ui.text import md

NOT_FOUND = "Not found or not permitted."


@contextmanager
def guard() -> Iterator[None]:
    """Turn expected errors into messages; anything unexpected becomes a message too, never a traceback."""
    try:
        yield
    except NotFoundError:
        st.warning(NOT_FOUND)
    except RrrsError as exc:
        st.error(md(exc))
    except Exception as exc:  # noqa: BLE001 - last line of defence: users never see tracebacks
        st.error(f"Something went wrong ({type(exc).__name__}). The data is unchanged; please report this.")


def provenance_banner() -> None:
    if query(directory.is_synthetic):
        st.caption(":violet[**Synthetic demo data**: every therapist, patient and session here is invented.]")


def empty_state() -> bool:
    """Show what to do on an empty database; returns True when the page should stop."""
    if query(directory.has_data):
        return False
    st.info("No coded sessions yet. Go to **Data** to upload 3RS tables (CSV or Excel), "
            "or run `make run` on an empty database to load the synthetic demo clinic.")
    return True


def param(name: str, default: str | None = None) -> str | None:
    """A URL query parameter, so filters and selections can be shared as a link."""
    return st.query_params.get(name, default)


def set_param(name: str, value: object | None) -> None:
    if value is None or value == "":
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = str(value)


def seed(name: str, value: object) -> str:
    """Start a widget from the URL once per page; after that the widget owns its value. Returns its key.

    Passing the URL value as the widget's default on every run makes Streamlit treat it as a new widget and
    drop every other change; the key carries the page so a page switch starts a fresh widget.
    """
    key = f"url_{name}@{st.session_state.get('_page', '')}"
    if key not in st.session_state:
        st.session_state[key] = value
    return key


def url_toggle(label: str, name: str, help: str | None = None, default: bool = False) -> bool:
    """A sidebar toggle kept in the URL as `name=1` / `name=0` (absent means `default`)."""
    raw = param(name)
    on = st.sidebar.toggle(label, key=seed(name, default if raw not in ("0", "1") else raw == "1"), help=help)
    set_param(name, None if bool(on) == default else ("1" if on else "0"))
    return bool(on)


def url_choice(label: str, name: str, options: dict[str, str], help: str | None = None) -> str:
    """A sidebar select box kept in the URL as `name=<key>`; `options` maps URL keys to labels and its
    first key is the default (absent from the URL). An unknown key falls back to the default."""
    keys = list(options)
    raw = param(name)
    key = seed(name, raw if raw in keys else keys[0])
    if st.session_state[key] not in keys:
        st.session_state[key] = keys[0]
    chosen = st.sidebar.selectbox(label, keys, key=key, format_func=options.__getitem__, help=help)
    set_param(name, None if chosen == keys[0] else chosen)
    return str(chosen)


SCOPE_LIMIT = 50  # therapists the Scope box offers at once; "Find a therapist" reaches the others


def therapist_options(ids: list[str], search: str, current: str | None) -> list[str]:
    """The Scope box's therapist entries: all of them up to SCOPE_LIMIT; beyond, the first SCOPE_LIMIT whose id
    contains `search` (any case), and the one in the URL (`current`) whenever it is among `ids`."""
    if len(ids) > SCOPE_LIMIT:
        needle = search.strip().lower()
        shown = [t for t in ids if needle in t.lower()][:SCOPE_LIMIT]
        kind, _, ident = (current or "").partition(":")
        if kind == "therapist" and ident in ids and ident not in shown:
            shown.append(ident)
        ids = shown
    return [f"therapist:{t}" for t in ids]


def scope_selector(allowed: Scope | None = None) -> Scope:
    """Whole clinic, one supervisor's trainees, or one therapist, within what the signed-in user may see;
    kept in the URL as `scope` (a scope outside the user's own falls back to it)."""
    if allowed is None:
        from rrrs_ui import auth

        allowed = auth.scope()
    people = query(directory.therapists, allowed)
    search = ""
    if len(people) > SCOPE_LIMIT:  # 1,250 therapists at 100k sessions: ~28 KB of options on every page
        search = st.sidebar.text_input("Find a therapist", key="scope_search", placeholder="Therapist id",
                                       help=f"Part of a therapist's id; the Scope box lists the first "
                                            f"{SCOPE_LIMIT} that match, with the clinic and the supervisors.")
    options = ["clinic"] if allowed.is_clinic else []
    options += [f"supervisor:{t}" for t in people.loc[people.is_supervisor, "therapist_id"]]
    first = options[0] if options else f"therapist:{people.therapist_id.iloc[0]}" if len(people) else None
    current = param("scope", first)
    options += therapist_options(list(people.therapist_id), search, current)
    if not options:
        return allowed
    key = seed("scope", current if current in options else options[0])
    if st.session_state[key] not in options:
        st.session_state[key] = options[0]

    def label(opt: str) -> str:
        kind, _, ident = opt.partition(":")
        return {"clinic": "Whole clinic", "supervisor": f"Supervisor {ident} + trainees",
                "therapist": f"Therapist {ident}"}[kind]

    choice = st.sidebar.selectbox("Scope", options, key=key, format_func=label)
    set_param("scope", None if choice == options[0] and allowed.is_clinic else choice)
    kind, _, ident = choice.partition(":")
    if kind == "supervisor":
        chosen = query(directory.supervisor_scope, ident)
    elif kind == "therapist":
        chosen = directory.therapist_scope(ident)
    else:
        return allowed
    if allowed.is_clinic or chosen.therapist_ids is None:
        return chosen
    return chosen.within(allowed)


def threshold_input(default: int = 4) -> int:
    """The therapist-contribution threshold (1-5), kept in the URL as `tc`."""
    raw = param("tc", str(default))
    value = int(raw) if raw and raw.isdigit() and 1 <= int(raw) <= 5 else default
    chosen = st.sidebar.slider("Therapist-contribution threshold", 1, 5, key=seed("tc", value),
                               help="Sessions rated at or above this are highlighted.")
    set_param("tc", None if chosen == default else chosen)
    return int(chosen)


def uploader(name: str, label: str, **kwargs: Any) -> Any:
    """`st.file_uploader` whose files `clear_uploader(name)` drops. Streamlit keeps uploaded files for as
    long as the widget lives and offers no way to empty it, so its key carries a counter: a new key is a
    new, empty uploader."""
    return st.file_uploader(label, key=f"{name}_{st.session_state.get(f'{name}_n', 0)}", **kwargs)


def clear_uploader(name: str) -> None:
    """Empty the `uploader(name, ...)` on the next run (after an import, so the same files are not
    imported again by mistake)."""
    st.session_state[f"{name}_n"] = st.session_state.get(f"{name}_n", 0) + 1
