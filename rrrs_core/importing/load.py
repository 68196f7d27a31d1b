"""Writing validated, typed tables into the store: idempotent, with replaced codings kept as history.

A coding is identified by (dyad, session, coder). A re-import is compared with the current stored coding
by a fingerprint of both sides' marks, ratings and consensus flag: identical (nothing written), new
(version 1), or different (refused unless `replace`, which stores version n+1 and keeps version n, no
longer current). `coding.content_hash` records who wrote the coding ("import"); it is not used to compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.errors import Problem
from rrrs_core.importing.summary import MARKS_TYPED, RATINGS_TYPED
from rrrs_core.store import ensure_rating_items, next_id, scalar
from rrrs_core.views import cache_metrics

KEY = "dyad_id, session_number, coder_id"
JOIN = "c.dyad_id = n.dyad_id AND c.session_number = n.session_number AND c.coder_id = n.coder_id"


@dataclass
class LoadCounts:
    sessions_new: int = 0
    codings_new: int = 0
    codings_replaced: int = 0
    codings_unchanged: int = 0
    marks: int = 0
    ratings: int = 0


def _fingerprints(marks: str, ratings: str, keys: str, flag: str) -> str:
    """SQL giving (key..., fp) for the codings in `keys`, from any marks/ratings source with the same columns."""
    return f"""
        SELECT k.dyad_id, k.session_number, k.coder_id, md5(coalesce(m.fp, '') || '|' || coalesce(r.fp, '') || '|'
            || k.{flag}) AS fp
        FROM {keys} k
        LEFT JOIN (SELECT {KEY}, string_agg(segment || ':' || code || ':' || clarity, ',' ORDER BY segment, code)
                   AS fp FROM {marks} WHERE ({KEY}) IN (SELECT ({KEY}) FROM {keys}) GROUP BY ALL) m USING ({KEY})
        LEFT JOIN (SELECT {KEY}, string_agg(item || '=' || rating, ',' ORDER BY item) AS fp
                   FROM {ratings} WHERE ({KEY}) IN (SELECT ({KEY}) FROM {keys}) GROUP BY ALL) r USING ({KEY})"""


def plan(con: duckdb.DuckDBPyConnection) -> None:
    """Decide insert / same / conflict for each incoming coding against the current stored one.

    Only codings whose key is already stored are compared (by a fingerprint of their marks, ratings and
    consensus flag, computed on both sides from the rows themselves), so a fresh import pays nothing here.
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE new_codings AS
        SELECT n._row, n.dyad_id, n.session_number, n.coder_id, n.consensus, c.coding_id AS old_id,
            c.version AS old_version, c.created_at AS old_created_at, c.consensus AS old_consensus,
            CASE WHEN c.coding_id IS NULL THEN 'insert' ELSE 'compare' END AS action
        FROM typ_sessions n LEFT JOIN coding c ON {JOIN} AND c.is_current""")
    if not scalar(con, "SELECT count(*) FROM new_codings WHERE action = 'compare'"):
        return
    stored_marks = f"(SELECT c.{KEY.replace(', ', ', c.')}, m.segment, m.code, m.clarity FROM mark m " \
                   "JOIN new_codings c ON c.old_id = m.coding_id)"
    stored_ratings = f"(SELECT c.{KEY.replace(', ', ', c.')}, r.item, r.rating FROM rating r " \
                     "JOIN new_codings c ON c.old_id = r.coding_id)"
    keys = "(SELECT * FROM new_codings WHERE action = 'compare')"
    con.execute(f"""
        UPDATE new_codings n SET action = CASE WHEN a.fp = b.fp THEN 'same' ELSE 'conflict' END
        FROM ({_fingerprints('typ_marks', 'typ_ratings', keys, 'consensus')}) a
        JOIN ({_fingerprints(stored_marks, stored_ratings, keys, 'old_consensus')}) b USING ({KEY})
        WHERE n.action = 'compare' AND {JOIN.replace('c.', 'a.')}""")


def conflicts(con: duckdb.DuckDBPyConnection, source: str) -> list[Problem]:
    rows = con.execute(
        "SELECT _row, dyad_id, session_number, coder_id, old_version, old_created_at FROM new_codings "
        "WHERE action = 'conflict' ORDER BY _row").fetchall()
    return [Problem("error", source, r[0], "coder_id", r[3],
                    f"a different coding of dyad {r[1]} session {r[2]} by {r[3]} is already stored (version "
                    f"{r[4]}, {r[5]:%Y-%m-%d %H:%M}); use --replace to store this one as version {r[4] + 1} "
                    "(the stored one is kept in history)") for r in rows]


def write(con: duckdb.DuckDBPyConnection, *, source: str, user: str, synthetic: bool, replace: bool,
          book: cb.Codebook) -> tuple[int, LoadCounts]:
    """Write planned codings; the caller holds the transaction. Returns the batch id and counts."""
    counts = LoadCounts()
    actions = dict(con.execute("SELECT action, count(*) FROM new_codings GROUP BY action").fetchall())
    counts.codings_unchanged = actions.get("same", 0)
    counts.codings_replaced = actions.get("conflict", 0) if replace else 0
    batch_id = next_id(con, "import_batch", "batch_id")
    con.execute("INSERT INTO import_batch (batch_id, source, imported_at, imported_by, synthetic, n_codings) "
                "VALUES (?, ?, current_localtimestamp(), ?, ?, 0)", [batch_id, source, user, synthetic])

    # Supervisors named only as supervisor_id become therapists too; later rows may fill in details.
    con.execute("""
        INSERT INTO therapist
        SELECT therapist_id, any_value(supervisor_id), coalesce(any_value(trainee), false) FROM (
            SELECT therapist_id, supervisor_id, trainee FROM typ_sessions
            UNION ALL SELECT DISTINCT supervisor_id, NULL, NULL FROM typ_sessions WHERE supervisor_id IS NOT NULL)
        WHERE therapist_id NOT IN (SELECT therapist_id FROM therapist) GROUP BY therapist_id""")
    con.execute("""
        UPDATE therapist t SET supervisor_id = coalesce(n.supervisor_id, t.supervisor_id),
            trainee = coalesce(n.trainee, t.trainee)
        FROM (SELECT therapist_id, any_value(supervisor_id) AS supervisor_id, any_value(trainee) AS trainee
              FROM typ_sessions GROUP BY therapist_id) n
        WHERE t.therapist_id = n.therapist_id AND (t.supervisor_id IS DISTINCT FROM coalesce(n.supervisor_id,
              t.supervisor_id) OR t.trainee IS DISTINCT FROM coalesce(n.trainee, t.trainee))""")
    con.execute("""
        INSERT INTO dyad SELECT dyad_id, any_value(therapist_id), any_value(patient_id), any_value(treatment)
        FROM typ_sessions WHERE dyad_id NOT IN (SELECT dyad_id FROM dyad) GROUP BY dyad_id""")
    con.execute("""
        UPDATE dyad d SET patient_id = coalesce(n.patient_id, d.patient_id), treatment = coalesce(n.treatment, d.treatment)
        FROM (SELECT dyad_id, any_value(patient_id) AS patient_id, any_value(treatment) AS treatment
              FROM typ_sessions GROUP BY dyad_id) n
        WHERE d.dyad_id = n.dyad_id AND (d.patient_id IS DISTINCT FROM coalesce(n.patient_id, d.patient_id)
              OR d.treatment IS DISTINCT FROM coalesce(n.treatment, d.treatment))""")
    counts.sessions_new = con.execute("""
        INSERT INTO session SELECT dyad_id, session_number, any_value(session_date), any_value(segment_minutes),
            any_value(n_segments)
        FROM typ_sessions n WHERE NOT EXISTS (SELECT 1 FROM session s WHERE s.dyad_id = n.dyad_id
            AND s.session_number = n.session_number) GROUP BY dyad_id, session_number""").fetchall()[0][0]

    todo = "('insert', 'conflict')" if replace else "('insert')"
    if replace:
        con.execute("UPDATE coding SET is_current = false WHERE coding_id IN "
                    "(SELECT old_id FROM new_codings WHERE action = 'conflict')")
    # Ids in the order of the sessions table, after the largest stored (`next_id`: the caller holds the lock).
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ins AS
        SELECT $first - 1 + row_number() OVER (ORDER BY _row, {KEY}) AS coding_id, * FROM new_codings
        WHERE action IN {todo}""", {"first": next_id(con, "coding", "coding_id")})
    counts.codings_new = con.execute(
        """INSERT INTO coding (coding_id, dyad_id, session_number, coder_id, version, is_current, status, consensus,
               codebook_id, codebook_version, content_hash, created_at, created_by, batch_id, change_note)
           SELECT coding_id, dyad_id, session_number, coder_id, coalesce(old_version, 0) + 1, true, 'final',
               consensus, ?, ?, 'import', current_localtimestamp(), ?, ?,
               CASE WHEN old_id IS NULL THEN 'imported' ELSE 'replaced version ' || old_version || ' by import' END
           FROM ins""", [book.id, book.version, user, batch_id]).fetchall()[0][0] - counts.codings_replaced
    counts.marks = con.execute(f"""
        INSERT INTO mark SELECT i.coding_id, m.segment, m.code, m.clarity
        FROM typ_marks m JOIN ins i USING ({KEY})""").fetchall()[0][0]
    ensure_rating_items(con, book.rating_items)  # validation allowed only these items
    # By the item's position in the codebook (`typ_ratings.ix`): no item text is read per rating.
    counts.ratings = con.execute(f"""
        INSERT INTO rating_value SELECT i.coding_id, it.item_id, r.rating
        FROM typ_ratings r JOIN ins i USING ({KEY})
        JOIN (SELECT item_id, list_position($items, item) AS ix FROM rating_item) it USING (ix)""",
        {"items": list(book.rating_items)}).fetchall()[0][0]
    con.execute("UPDATE import_batch SET n_codings = ? WHERE batch_id = ?",
                [counts.codings_new + counts.codings_replaced, batch_id])
    globals_ = ", ".join(f"s.{k}" for k in book.global_keys)
    # From the import's summaries, not by reading back the rows just written. A segment written two ways
    # ('3', '03') is two summary rows, hence the regrouping.
    cache_metrics(con, "ins", rated=f"""
        SELECT i.coding_id, s.n AS n_ratings, {globals_} FROM ins i JOIN {RATINGS_TYPED} s USING ({KEY})""",
        segments=f"""SELECT i.coding_id, s.segment, bit_or(s.flags) AS flags
        FROM ins i JOIN {MARKS_TYPED} s USING ({KEY}) GROUP BY ALL""")
    if synthetic:  # the demo clinic's master coder made its calibration sessions' references
        from rrrs_core.demo_calibration import MASTER

        con.execute("""
            INSERT INTO reference_coding SELECT DISTINCT dyad_id, session_number, coder_id, ?, current_localtimestamp()
            FROM ins i WHERE coder_id = ? AND NOT EXISTS (SELECT 1 FROM reference_coding r
                WHERE r.dyad_id = i.dyad_id AND r.session_number = i.session_number)""", [user, MASTER])
    con.execute("DROP TABLE ins")
    return int(batch_id), counts
