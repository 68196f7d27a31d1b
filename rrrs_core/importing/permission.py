"""What an uploader may write: the import's scope rules, as SQL over `typ_sessions` against the store.

Reads are scoped in the queries; an import is a write, so it is scoped here, before anything is written.
An administrator (and the CLI, which runs with the database file in hand) may import anything. Anyone else:

- may not change a stored therapist's supervisor or a stored patient id (administrator actions; a dyad's
  therapist can never change through an import, see `rules`), so nobody can pull a case into their scope;
- a supervisor writes only codings of dyads whose therapist is in their scope, and a new therapist must name
  that supervisor as supervisor_id, so whatever they create lands inside their scope; within it they may set a
  dyad's treatment, fill an empty patient id and a therapist's trainee flag;
- a coder stores only codings of sessions assigned to them (`coding_assignment`), under their own coder id,
  and changes nothing else: a row whose trainee, patient_id, treatment or session_date differs from the stored
  one is refused (an empty cell is "as stored"); therapist_id and n_segments are checked for everyone (`rules`);
- a therapist or qi user imports nothing: every row is refused.

Every finding names file, row, column and value; no row is looped over in Python.
"""

from __future__ import annotations

import duckdb

from rrrs_core.access import Principal, scope_for
from rrrs_core.errors import Problem
from rrrs_core.store import scalar

LIMIT = 100
ADMIN_ONLY = "only an administrator may"
KNOWN = "EXISTS (SELECT 1 FROM therapist t WHERE t.therapist_id = s.therapist_id)"
IN_SCOPE = "s.therapist_id IN (SELECT therapist_id FROM perm_scope)"
SUPERVISOR = "(SELECT supervisor FROM perm_writer)"  # the writer's therapist id when they are a supervisor
REASSIGNS = ("s.supervisor_id IS NOT NULL AND s.supervisor_id IS DISTINCT FROM "
             "(SELECT t.supervisor_id FROM therapist t WHERE t.therapist_id = s.therapist_id)")

# (column, condition over typ_sessions s, message expression): each refuses the rows it selects.
ANYONE: list[tuple[str, str, str]] = [
    ("supervisor_id", f"{KNOWN} AND {REASSIGNS}",
     f"CASE WHEN {IN_SCOPE} THEN 'changes the supervisor of therapist ' || s.therapist_id || ' (stored: ' || "
     f"coalesce((SELECT t.supervisor_id FROM therapist t WHERE t.therapist_id = s.therapist_id), 'none') || ')'"
     f" ELSE 'reassigns therapist ' || s.therapist_id || ', who is outside your scope' END || "
     f"'; {ADMIN_ONLY} change a therapist''s supervisor'"),
    ("patient_id", "s.patient_id IS NOT NULL AND EXISTS (SELECT 1 FROM dyad d WHERE d.dyad_id = s.dyad_id AND "
                   "d.patient_id IS NOT NULL AND d.patient_id <> s.patient_id)",
     f"'changes the patient id of dyad ' || s.dyad_id || '; {ADMIN_ONLY} change a patient id'"),
]
SCOPED: list[tuple[str, str, str]] = [
    ("therapist_id", f"{KNOWN} AND NOT {IN_SCOPE} AND NOT ({REASSIGNS})",
     "'therapist ' || s.therapist_id || ' is outside your scope; you may import codings only of your own "
     f"and your trainees'' dyads ({ADMIN_ONLY} import others)'"),
    ("supervisor_id", f"NOT {KNOWN} AND ({SUPERVISOR} IS NULL OR s.supervisor_id IS DISTINCT FROM {SUPERVISOR})",
     f"'new therapist ' || s.therapist_id || CASE WHEN {SUPERVISOR} IS NULL THEN ': {ADMIN_ONLY} add a therapist'"
     f" ELSE ' would be outside your scope: give your own therapist id (' || {SUPERVISOR} || ') as "
     f"supervisor_id ({ADMIN_ONLY} add therapists for other supervisors)' END"),
]
CODER: list[tuple[str, str, str]] = [
    ("coder_id", "s.coder_id IS DISTINCT FROM (SELECT coder_id FROM perm_writer)",
     "'you may store codings only under your own coder id (' || coalesce((SELECT coder_id FROM perm_writer), "
     "'none') || ')'"),
    ("session_number", "s.coder_id = (SELECT coder_id FROM perm_writer) AND NOT EXISTS (SELECT 1 FROM "
                       "coding_assignment a WHERE a.dyad_id = s.dyad_id AND a.session_number = s.session_number "
                       "AND a.coder_id = s.coder_id)",
     "'dyad ' || s.dyad_id || ' session ' || s.session_number || ' is not assigned to you; ask a supervisor "
     "to assign it'"),
]

CODER_ONLY = "; a coder stores codings only: leave the cell empty or as stored, and ask a supervisor to change it'"
STORED_DYAD = "(SELECT d.{col} FROM dyad d WHERE d.dyad_id = s.dyad_id)"
STORED_SESSION = ("EXISTS (SELECT 1 FROM session x WHERE x.dyad_id = s.dyad_id AND x.session_number = "
                  "s.session_number AND x.session_date IS DISTINCT FROM s.session_date)")
CODER += [  # what load.write would otherwise update from a coder's row (the stored values are not echoed)
    ("trainee", "s.trainee IS NOT NULL AND s.trainee IS DISTINCT FROM (SELECT t.trainee FROM therapist t WHERE "
                "t.therapist_id = s.therapist_id)",
     f"'changes the trainee flag of therapist ' || s.therapist_id || '{CODER_ONLY}"),
    ("patient_id", f"s.patient_id IS NOT NULL AND {STORED_DYAD.format(col='patient_id')} IS NULL",  # else ANYONE's
     f"'sets the patient id of dyad ' || s.dyad_id || '{CODER_ONLY}"),
    ("treatment", f"s.treatment IS NOT NULL AND s.treatment IS DISTINCT FROM {STORED_DYAD.format(col='treatment')}",
     f"'changes the treatment of dyad ' || s.dyad_id || '{CODER_ONLY}"),
    ("session_date", f"s.session_date IS NOT NULL AND {STORED_SESSION}",
     f"'changes the date of dyad ' || s.dyad_id || ' session ' || s.session_number || '{CODER_ONLY}"),
]
NO_CODINGS: list[tuple[str, str, str]] = [
    ("coder_id", "true", "'your role does not store codings: only coders, supervisors and administrators import'"),
]


def checks_for(writer: Principal) -> list[tuple[str, str, str]]:
    """The rules that bind this writer (none for an administrator; every row refused for a role that does
    not write codings)."""
    if writer.role == "admin":
        return []
    if writer.role == "coder":
        return ANYONE + CODER
    if writer.role == "supervisor":
        return ANYONE + SCOPED
    return NO_CODINGS


# Self-reports (the optional fourth table, `typ_selfreports` s): an administrator imports any; a supervisor
# those of dyads in their scope (a new dyad comes with its sessions rows, checked above); nobody else.
SELFREPORT_SCOPED: list[tuple[str, str, str]] = [
    ("dyad_id", "EXISTS (SELECT 1 FROM dyad d WHERE d.dyad_id = s.dyad_id AND d.therapist_id NOT IN "
                "(SELECT therapist_id FROM perm_scope))",
     "'dyad ' || s.dyad_id || ' is outside your scope; you may import self-reports only of your own and your "
     f"trainees'' dyads ({ADMIN_ONLY} import others)'"),
]
SELFREPORT_NONE: list[tuple[str, str, str]] = [
    ("dyad_id", "true", "'your role does not import self-reports: supervisors and administrators do (therapists "
                        "enter their patients'' forms on the dyad page)'"),
]


def _findings(con: duckdb.DuckDBPyConnection, table: str, checks: list[tuple[str, str, str]]
              ) -> tuple[list[tuple], int]:
    """Rows of `table` (alias s) each check refuses, at most LIMIT + 1 per check, and how many in all."""
    rows: list[tuple] = []
    total = 0
    # One plain query per rule. A UNION ALL of these correlated rules under `count(*) OVER ()` ... LIMIT hit
    # a DuckDB 1.5.5 internal error in 1 of 240 test runs ("Attempted to access index 0 within vector of
    # size 0"), which invalidates the whole database; one query per rule passed 240 of 240.
    for n, (col, where, msg) in enumerate(checks):
        found = con.execute(f"SELECT s._row, {n} AS rule, '{col}' AS col, s.{col}::VARCHAR AS value, "
                            f"{msg} AS message FROM {table} s WHERE {where} ORDER BY s._row "
                            f"LIMIT {LIMIT + 1}").fetchall()
        total += len(found) if len(found) <= LIMIT else int(scalar(
            con, f"SELECT count(*) FROM {table} s WHERE {where}"))
        rows += found
    return rows, total


def _problems(source: str, rows: list[tuple], total: int) -> list[Problem]:
    rows = sorted(rows, key=lambda r: (r[0], r[1]))[:LIMIT]
    problems = [Problem("error", source, r[0], r[2], r[3], r[4]) for r in rows]
    if total > LIMIT:
        problems.append(Problem("error", source, None, None, None,
                                f"... and {total - LIMIT} more rows you may not write"))
    return problems


def run(con: duckdb.DuckDBPyConnection, writer: Principal | None, source: str,
        selfreports: str | None = None) -> list[Problem]:
    """Errors for every staged session row (and self-report row: `selfreports` names that table's file when
    it is staged) the writer may not write; `None` is the trusted CLI (no limit)."""
    checks = [] if writer is None else checks_for(writer)
    if not checks:
        return []
    assert writer is not None
    extra = [] if selfreports is None else SELFREPORT_SCOPED if writer.role == "supervisor" else SELFREPORT_NONE
    ids = scope_for(con, writer).therapist_ids
    con.execute("CREATE OR REPLACE TEMP TABLE perm_scope AS SELECT unnest(?::VARCHAR[]) AS therapist_id",
                [sorted(ids or ())])
    supervisor = writer.therapist_id if writer.role == "supervisor" else None
    con.execute("CREATE OR REPLACE TEMP TABLE perm_writer AS SELECT ?::VARCHAR AS supervisor, ?::VARCHAR AS coder_id",
                [supervisor, writer.coder_id])
    try:
        rows, total = _findings(con, "typ_sessions", checks)
        problems = _problems(source, rows, total)
        if extra:
            problems += _problems(selfreports or "", *_findings(con, "typ_selfreports", extra))
    finally:
        con.execute("DROP TABLE IF EXISTS perm_scope")
        con.execute("DROP TABLE IF EXISTS perm_writer")
    return problems
