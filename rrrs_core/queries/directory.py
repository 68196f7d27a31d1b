"""Who is in the clinic: therapists, supervisors and the scopes a user can pick from."""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core.scope import CLINIC, Scope


def therapists(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """One row per therapist in scope with their dyad count and role in supervision."""
    where, params = scope.sql("t.therapist_id")
    return con.execute(
        f"""
        SELECT t.therapist_id, t.supervisor_id, t.trainee,
            EXISTS (SELECT 1 FROM therapist s WHERE s.supervisor_id = t.therapist_id) AS is_supervisor,
            (SELECT count(*) FROM dyad d WHERE d.therapist_id = t.therapist_id) AS n_dyads
        FROM therapist t WHERE {where} ORDER BY t.therapist_id
        """,
        params,
    ).df()


def supervisor_scope(con: duckdb.DuckDBPyConnection, supervisor_id: str) -> Scope:
    """A supervisor's own cases plus those of everyone they supervise."""
    ids = [r[0] for r in con.execute(
        "SELECT therapist_id FROM therapist WHERE supervisor_id = ? OR therapist_id = ?",
        [supervisor_id, supervisor_id]).fetchall()]
    return Scope.therapists(ids, f"Supervisor {supervisor_id} and trainees", supervisor_id)


def therapist_scope(therapist_id: str) -> Scope:
    return Scope.therapists([therapist_id], f"Therapist {therapist_id}")


def is_synthetic(con: duckdb.DuckDBPyConnection) -> bool:
    """True when every import so far was synthetic demo data (drives the 'synthetic data' banner)."""
    row = con.execute("SELECT count(*), count(*) FILTER (WHERE synthetic) FROM import_batch").fetchall()[0]
    return bool(row and row[0] > 0 and row[0] == row[1])


def has_data(con: duckdb.DuckDBPyConnection) -> bool:
    """Any session recorded or self-reported (a clinic may enter self-reports before any coding)."""
    row = con.execute("SELECT (SELECT count(*) FROM session) + (SELECT count(*) FROM selfreport)").fetchall()[0]
    return bool(row and row[0])
