"""Scoresheet: code a session with the 3RS in the app (or with the Excel scoresheet), keeping every version.

URL params: dyad, session, coder. The page remembers the version it opened; a save made by someone else in
the meantime is refused (never silently overwritten) with a message naming who saved first.

Everything here runs under the principal's permit (rrrs_core.permits), which the core functions check
themselves: the dashboards' scope for reads and writes, only assigned sessions for coders, nothing new in
demo mode. A dyad in the URL that is out of reach is 'not found or not permitted', never offered as new.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from rrrs_core import access, permits
from rrrs_core import coding_edit as ce
from rrrs_core import coding_history as ch
from rrrs_core import scoresheet_xlsx as sx
from rrrs_core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from rrrs_core.permits import Permit
from rrrs_ui import auth, glue, import_flow, suggest_pane, tables, widgets
from rrrs_ui import scoresheet_grid as grid
from rrrs_ui import scoresheet_hints as hints
from rrrs_ui.notes_panel import notes_panel
from rrrs_ui.permit import checked_download
from rrrs_ui.permit import permit as current_permit
from rrrs_ui.scoresheet_pick import choose
from rrrs_ui.text import md

auth.require_page("scoresheet")

NEW = hints.NEW
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UPLOADER, REPLACE = "sc_upload", "sc_replace"
LAST_IMPORT = "sc_last_import"  # (summary, warnings) of the scoresheets just imported, shown after the rerun
ss = st.session_state


def open_coding(target: ce.CodingDraft, permit: Permit, force: bool = False) -> None:
    """Load the stored coding (or a blank one) and remember the version opened; audited once per browser
    session and coding, like the dyad and session views. The permit is checked on every run, not only when
    the coding is first loaded."""
    key = "|".join(map(str, target.key))
    if ss.get("sc_key") == key:
        permits.require_coding(glue.connection(), permit, *target.key)
    if force or ss.get("sc_key") != key:
        if ss.get("sc_flash") and ss.sc_flash[0] != key:
            ss.sc_flash = None
        base, version = ce.load_coding(glue.connection(), *target.key, permit=permit)
        ss.sc_key, ss.sc_base, ss.sc_version = key, base, version
        grid.reset()
    auth.record("view scoresheet", "/".join(map(str, target.key)))


def done(message: str, kind: str = "success") -> None:
    """After a write: clear caches, reopen the coding from the store on the next run, show a message."""
    glue.data_changed()
    ss.sc_flash = (ss.sc_key, kind, message)
    ss.sc_key = None
    for key in [k for k in ss if str(k).startswith("sc_pick_")]:
        del ss[key]  # a dyad/session/coder just created is now picked from the stored ones (URL params)
    st.rerun()


def save(draft: ce.CodingDraft, status: str, user: str, n_warnings: int, permit: Permit) -> None:
    try:
        version = ce.save_coding(glue.connection(), draft, user=user, expected_version=ss.sc_version, status=status,
                                 permit=permit)
    except (ConflictError, NotFoundError, PermissionDeniedError) as exc:
        st.error(f"Not saved. {md(exc)}")
        return
    except ValidationError as exc:
        st.error(f"Not saved: {md(exc)}.")
        tables.show_checks(exc.problems)
        return
    if version == ss.sc_version:
        done(f"Nothing changed since version {version}; nothing was saved.", "info")
    auth.audit_now("edit coding", "/".join(map(str, draft.key)), f"saved version {version} as {status}")
    tail = f" with {n_warnings} consistency warning{'s' if n_warnings != 1 else ''}" if status == "final" and \
        n_warnings else ""
    done(f"Saved version {version} as {status}{tail}.")


def history_section(target: ce.CodingDraft, user: str, permit: Permit) -> None:
    hist = ch.history(glue.connection(), *target.key, permit=permit)
    if hist.empty:
        st.caption("Not saved yet: the first save creates version 1.")
        return
    st.dataframe(hist, hide_index=True, width="stretch", placeholder="", column_config=tables.HISTORY)
    older = [int(v) for v in hist.version if int(v) != ss.sc_version]
    if not older:
        return
    r1, r2 = st.columns([1, 2])
    version = r1.selectbox("Version to restore", older, key="sc_restore_version")
    if r2.button(f"Restore version {version}", help="Saves a new version equal to this one; nothing is deleted."):
        try:
            new = ch.restore(glue.connection(), *target.key, version, user=user, expected_version=ss.sc_version,
                             permit=permit)
            auth.audit_now("edit coding", "/".join(map(str, target.key)), f"restored version {version} as {new}")
        except (ConflictError, ValidationError, NotFoundError, PermissionDeniedError) as exc:
            st.error(f"Not restored. {md(exc)}")
            return
        if new == ss.sc_version:
            done(f"Version {version} equals the current version; nothing was saved.", "info")
        done(f"Restored version {version} as new version {new}.")


def excel_section(target: ce.CodingDraft, user: str) -> None:
    st.markdown("Code on paper-like Excel sheets: one session per file, segments as rows, codes as columns, cells "
                "limited to ✓ and ✓-. Upload one or many filled scoresheets; everything is checked first and "
                "nothing is imported if any file has a problem.")
    d1, d2 = st.columns(2)
    d1.download_button("Blank scoresheet (.xlsx)", sx.template, "3rs-scoresheet.xlsx", XLSX)
    name = f"3rs-scoresheet-{target.dyad_id}-s{target.session_number}-{target.coder_id}.xlsx"
    coding = "/".join(map(str, target.key))
    if ss.sc_version is None:
        def blank(con, p: Permit) -> bytes:  # the header carries the patient id of a stored dyad
            ce.load_coding(con, *target.key, permit=p)
            return sx.template(draft=target)

        d2.download_button("Scoresheet for this session", checked_download(blank, "download scoresheet", coding),
                           name, XLSX, on_click="ignore")
    else:
        d2.download_button(f"This coding (stored version {ss.sc_version})", checked_download(
            lambda con, p: sx.filled(con, *target.key, permit=p), "download scoresheet", coding),
            name, XLSX, on_click="ignore")
    files = widgets.uploader(UPLOADER, "Filled scoresheets", type=["xlsx"], accept_multiple_files=True)
    if files:
        ss.pop(LAST_IMPORT, None)  # new files: the last import's report no longer describes what is here
    replace_old = st.checkbox("Store changed codings as new versions (earlier versions are kept)", key=REPLACE)
    u1, u2 = st.columns(2)
    check, run = u1.button("Check only", disabled=not files), u2.button("Import", type="primary", disabled=not files)
    if LAST_IMPORT in ss:
        summary, warnings = ss[LAST_IMPORT]
        st.success(md(summary) + ". Press Reload above to see an imported coding of the session open here.")
        tables.show_warnings(warnings)
    if not (files and (check or run)):
        return
    try:
        report = sx.import_scoresheets(glue.connection(), [(f.name, f.getvalue()) for f in files],
                                       replace=replace_old, user=user or "app", dry_run=check,
                                       synthetic_only=auth.synthetic_only(), writer=auth.principal())
    except ValidationError as exc:
        import_flow.show_refused(exc)
        return
    if check:
        st.success("No errors: these scoresheets can be imported.")
        tables.show_warnings(report.warnings)
        return
    import_flow.finish_import(report, uploader=UPLOADER, replace_key=REPLACE, last_import=LAST_IMPORT)


st.title("Scoresheet")
with widgets.guard():
    widgets.provenance_banner()
    permit = current_permit()
    target = choose(permit)
    if target is None:
        st.stop()
    open_coding(target, permit)
    if ss.get("sc_flash") and ss.sc_flash[0] == ss.sc_key:  # stays until another coding is opened or saved
        getattr(st, ss.sc_flash[1])(ss.sc_flash[2])
    base: ce.CodingDraft = replace(ss.sc_base, **{f: getattr(target, f) for f in (
        "therapist_id", "session_date", "segment_minutes", "n_segments", "patient_id", "treatment",
        "supervisor_id", "trainee")})
    date = f" on {base.session_date:%Y-%m-%d}" if base.session_date else ""
    st.caption(f"Dyad **{md(base.dyad_id)}** · therapist {md(base.therapist_id)} · session {base.session_number}{date} · "
               f"{base.n_segments} segments of {base.segment_minutes} min · coder **{md(base.coder_id)}**")
    if ss.sc_version is None:
        st.info(hints.new_coding(base, ce.header(glue.connection(), base.dyad_id, base.session_number,
                                                 permit=permit)))
    else:
        status, stored_by, at = ch.version_info(glue.connection(), *target.key, ss.sc_version, permit=permit)
        st.caption(f"Opened version {ss.sc_version} ({status}), {md(stored_by)} at {at:%Y-%m-%d %H:%M}.")
    grid.codebook_panel(base.book)

    accepted = suggest_pane.pane(base, auth.principal())  # transcript + suggestions, when there is a transcript
    st.subheader("Segments")
    marks, seg_notes = grid.mark_grid(replace(base, marks={**base.marks, **accepted}))
    st.subheader("Ratings")
    ratings = grid.ratings_inputs(base, marks)
    draft = replace(base, marks=marks, ratings=ratings, segment_notes=seg_notes)

    st.subheader("Save")
    errors, warnings = [], []
    try:
        warnings = ce.check_coding(glue.connection(), draft)
    except ValidationError as exc:
        errors, warnings = exc.problems, exc.warnings
    if errors:
        st.error(f"{len(errors)} problem{'s' if len(errors) != 1 else ''} to fix before saving:")
        tables.show_checks(errors)
    if warnings:
        st.warning(f"Before saving as final: {len(warnings)} point{'s' if len(warnings) != 1 else ''} from the "
                   "manual's consistency rules (they do not block saving).")
        tables.show_checks(warnings)
    elif not errors:
        st.caption("No consistency warnings from the manual's rules.")
    changes = ch.diff(ss.sc_base.normalized(), draft.normalized()) if ss.sc_version else []
    if changes:
        st.caption("Unsaved changes: " + ch.summary(changes))
    u, b1, b2, b3 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    who = auth.principal()
    if who is access.DEMO:
        user = u.text_input("Saved by", value=base.coder_id, key="sc_user",
                            help="Recorded with every version (and named if someone else saves in between).")
    else:
        user = u.text_input("Saved by", value=who.subject, disabled=True, key="sc_user_signed_in",
                            help="Your sign-in identity is recorded with every version.")
    if b1.button("Save draft", disabled=bool(errors), help="Drafts never feed the dashboards.", width="stretch"):
        save(draft, "draft", user, len(warnings), permit)
    if b2.button("Save final", type="primary", disabled=bool(errors), width="stretch"):
        save(draft, "final", user, len(warnings), permit)
    if b3.button("Reload", help="Discard unsaved changes and open the latest stored version.", width="stretch"):
        ss.sc_key, ss.sc_flash = None, None
        st.rerun()
    if ss.sc_base.status == "final" and ss.sc_version is not None:
        st.caption("A draft saved over this final coding takes the session off the dashboards until it is saved "
                   "as final again (the earlier versions stay in the history).")

    with st.expander("Version history", expanded=False):
        history_section(target, user, permit)
    with st.expander("Excel scoresheet", expanded=False):
        excel_section(target, user)
    if permit.may_use_notes:  # coders code blind: no notes panel (the core refuses their notes too)
        with st.expander("Supervision notes on this session"):
            if "n_segments" not in ce.header(glue.connection(), target.dyad_id, target.session_number,
                                             permit=permit):
                st.caption("Save the coding first: notes attach to a stored session.")
            else:
                notes_panel(target.dyad_id, target.session_number, author=user or "demo user")
