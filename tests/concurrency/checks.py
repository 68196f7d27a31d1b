"""What the soak test asserts once its workers have stopped, each a function over the workers' logs and the store,
returning a list of readable failures (empty when the property holds), so one run reports every broken property."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import duckdb

from rrrs_core import codebook as cb

REFUSAL = re.compile(r"was saved by (?P<by>\S+) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(version (?P<version>\d+)\) "
                     r"after you opened it")
Key = tuple[str, int, str]


def read_logs(folder: Path) -> list[dict[str, Any]]:
    events = []
    for path in sorted(folder.glob("*.jsonl")):
        events += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return events


def _key(value: list[Any]) -> Key:
    return (str(value[0]), int(value[1]), str(value[2]))


def worker_errors(events: list[dict[str, Any]], workers: list[str]) -> list[str]:
    out = [f"{e['worker']} failed in {e['what']}:\n{e['traceback']}" for e in events if e["event"] == "error"]
    finished = {e["worker"] for e in events if e["event"] == "done"}
    out += [f"{w} did not finish its loop" for w in workers if w not in finished]
    return out


def no_duplicate_rows(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Keys the schema declares unique (DuckLake cannot enforce them: the writers' checks must)."""
    checks = {
        "therapist": "therapist_id", "dyad": "dyad_id", "session": "dyad_id, session_number",
        "coding": "dyad_id, session_number, coder_id, version", "coding ": "coding_id",
    }
    out = []
    for table, key in checks.items():
        rows = con.execute(f"SELECT {key}, count(*) FROM {table.strip()} GROUP BY ALL HAVING count(*) > 1 "
                           "LIMIT 5").fetchall()
        out += [f"{table.strip()} {key} stored {r[-1]} times: {r[:-1]}" for r in rows]
    rows = con.execute("SELECT dyad_id, session_number, coder_id, count(*) FILTER (WHERE is_current) FROM coding "
                       "GROUP BY ALL HAVING count(*) FILTER (WHERE is_current) <> 1 LIMIT 5").fetchall()
    out += [f"coding {r[:3]} has {r[3]} current versions" for r in rows]
    return out


def scoresheet_saves(con: duckdb.DuckDBPyConnection, events: list[dict[str, Any]], coders: list[str],
                     importer: str) -> list[str]:
    """Every save a coder reported is in the store with the marks it saved; the store holds no version the
    coders or the importer's replacing imports did not report; versions of a coding run 1..n with the newest
    current."""
    from rrrs_core.coding_edit import load_version

    out: list[str] = []
    saved = [e for e in events if e["event"] == "saved"]
    claims = Counter((_key(e["key"]), e["version"]) for e in saved)
    out += [f"version {v} of {k} reported saved by {n} workers (a lost update)" for (k, v), n in claims.items()
            if n > 1]
    for e in saved:
        key = _key(e["key"])
        row = con.execute("SELECT coding_id, created_by FROM coding WHERE dyad_id = ? AND session_number = ? AND "
                          "coder_id = ? AND version = ?", [*key, e["version"]]).fetchall()
        if not row:
            out.append(f"{e['worker']} saved version {e['version']} of {key}: not in the store (lost)")
            continue
        if row[0][1] != e["worker"]:
            out.append(f"{e['worker']} saved version {e['version']} of {key}; the store says {row[0][1]}")
        if load_version(con, int(row[0][0])).fingerprint() != e["fingerprint"]:
            out.append(f"version {e['version']} of {key} in the store is not what {e['worker']} saved")
    stored = Counter(r[0] for r in con.execute(
        "SELECT created_by FROM coding WHERE created_by IN (SELECT unnest(?::VARCHAR[]))", [coders]).fetchall())
    reported = Counter(e["worker"] for e in saved)
    for w in coders:
        if stored[w] != reported[w]:
            out.append(f"{w} reported {reported[w]} saves; the store holds {stored[w]} versions by {w}")
    replaced = Counter(_key(e["key"]) for e in events if e["event"] == "replaced" and e["rc"] == 0
                       and " 1 replaced" in e["stdout"])
    for key in {_key(e["key"]) for e in events if e["event"] == "replaced"}:
        n = con.execute("SELECT count(*) FROM coding WHERE dyad_id = ? AND session_number = ? AND coder_id = ? AND "
                        "created_by = ?", [*key, importer]).fetchall()[0][0]
        if n != replaced[key]:
            out.append(f"{key}: {replaced[key]} replacing imports reported, {n} versions by {importer} stored")
    for key in {_key(e["key"]) for e in saved} | set(replaced):
        versions = con.execute("SELECT version, is_current FROM coding WHERE dyad_id = ? AND session_number = ? AND "
                               "coder_id = ? ORDER BY version", list(key)).fetchall()
        numbers = [v for v, _ in versions]
        if numbers != list(range(1, len(numbers) + 1)) or not versions[-1][1]:
            out.append(f"{key}: versions {versions} (want 1..n, the newest current)")
    return out


def refusals(con: duckdb.DuckDBPyConnection, events: list[dict[str, Any]], savers: list[str]) -> list[str]:
    """Every refused save names who saved (a coder, or the importer's `--user`), which version, and that
    version is in the store, saved by them."""
    out = []
    for e in events:
        if e["event"] != "refused":
            continue
        found = REFUSAL.search(e["message"])
        if not found or found["by"] not in savers:
            out.append(f"{e['worker']}'s refused save of {e['key']} does not name who saved: {e['message']!r}")
            continue
        row = con.execute("SELECT created_by FROM coding WHERE dyad_id = ? AND session_number = ? AND coder_id = ? "
                          "AND version = ?", [*_key(e["key"]), int(found["version"])]).fetchall()
        if not row or row[0][0] != found["by"] or int(found["version"]) <= (e["expected"] or 0):
            out.append(f"refusal names version {found['version']} by {found['by']} of {e['key']}: the store has "
                       f"{row} (opened version {e['expected']})")
    return out


def duels(events: list[dict[str, Any]], n_duellists: int) -> tuple[int, list[str]]:
    """Duels where every coder opened the coding before any saved: exactly one save lands, the others are refused
    naming the winner. Returns how many such duels ran, and the failures."""
    by_tick: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e.get("duel") is not None and e["event"] in ("saved", "refused", "duel_timeout"):
            by_tick[e["duel"]].append(e)
    done, out = 0, []
    for tick, outcomes in sorted(by_tick.items()):
        if len(outcomes) != n_duellists or any(e["event"] == "duel_timeout" for e in outcomes):
            continue
        done += 1
        winners = [e for e in outcomes if e["event"] == "saved"]
        if len(winners) != 1:
            out.append(f"duel {tick}: {len(winners)} saves landed from one opened version: {outcomes}")
            continue
        for e in outcomes:
            if e["event"] == "refused" and f"saved by {winners[0]['worker']} " not in e["message"]:
                out.append(f"duel {tick}: {e['worker']} refused without naming {winners[0]['worker']}: "
                           f"{e['message']!r}")
    return done, out


def imports(con: duckdb.DuckDBPyConnection, events: list[dict[str, Any]]) -> list[str]:
    """Each successful batch is in the store once; a batch imported twice at once, once; a late failure, not at all."""
    out = []

    def present(info: dict[str, Any]) -> tuple[list[tuple], list[tuple], list[tuple]]:
        codings = con.execute("SELECT dyad_id, session_number, coder_id, version FROM coding WHERE dyad_id IN "
                              "(SELECT unnest(?::VARCHAR[])) ORDER BY ALL", [info["dyads"]]).fetchall()
        dyads = con.execute("SELECT dyad_id FROM dyad WHERE dyad_id IN (SELECT unnest(?::VARCHAR[]))",
                            [info["dyads"]]).fetchall()
        therapists = con.execute("SELECT therapist_id FROM therapist WHERE therapist_id IN "
                                 "(SELECT unnest(?::VARCHAR[]))", [info["therapists"]]).fetchall()
        return codings, dyads, therapists

    for e in events:
        kind = e["event"]
        if kind not in ("imported", "imported_twice", "failed_late"):
            continue
        codings, dyads, therapists = present(e)
        want = sorted((*_key(k), 1) for k in e["codings"])
        if kind == "failed_late":
            if not e.get("message") or codings or dyads or therapists:
                out.append(f"late-failing import {e['tag']} ({e.get('message')!r}) left {codings} {dyads} {therapists}")
            if con.execute("SELECT count(*) FROM import_batch WHERE source = ?", [e["tag"]]).fetchall()[0][0]:
                out.append(f"late-failing import {e['tag']} left its import_batch row")
            continue
        runs = e["runs"] if kind == "imported_twice" else [e]
        if not any(r["rc"] == 0 for r in runs):
            out.append(f"import {e['tag']} failed: {[r['stderr'] for r in runs]}")
        if codings != want or len(dyads) != 2 or len(therapists) != 3:
            out.append(f"import {e['tag']} ({kind}): store holds codings {codings} (want {want}), dyads {dyads}, "
                       f"therapists {therapists}")
    return out


def reports(events: list[dict[str, Any]]) -> tuple[int, list[str]]:
    runs = [e for e in events if e["event"] == "reported"]
    bad = [f"rrrs report all failed (exit {e['rc']}): {e['stderr']}" for e in runs if e["rc"] != 0 or not e["pdfs"]]
    return len(runs), bad


def metrics(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The per-coding metrics the pages read (the cache) against a recount in Python from the stored marks and
    ratings (README "Metrics": a segment counts for a family when one of its codes is marked `check`; possible
    when marked only `check_minus`)."""
    book = cb.DEFAULT
    family = {c.key: c.family for c in book.codes}
    marks: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for coding_id, segment, code, clarity in con.execute("SELECT coding_id, segment, code, clarity FROM mark"
                                                         ).fetchall():
        marks[coding_id][segment].add(family[code] + ("" if clarity == "check" else "?"))
    ratings: dict[int, dict[str, int]] = defaultdict(dict)
    for coding_id, item, value in con.execute("SELECT coding_id, item, rating FROM rating").fetchall():
        ratings[coding_id][item] = value
    names = ["withdrawal_segments", "confrontation_segments", "rupture_segments", "resolution_segments",
             "withdrawal_possible_segments", "confrontation_possible_segments", "resolution_possible_segments",
             *book.global_keys, "ratings_pending"]
    cached = {r[0]: r[1:] for r in con.execute(f"SELECT coding_id, {', '.join(names)} FROM coding_metrics_cache"
                                               ).fetchall()}
    ids = [r[0] for r in con.execute("SELECT coding_id FROM coding").fetchall()]
    out = [f"coding {i} has no cached metrics" for i in ids if i not in cached]
    for i in ids:
        if i not in cached:
            continue
        segs = marks.get(i, {}).values()

        def n(pred: Any, segs: Any = segs) -> int:
            return sum(1 for s in segs if pred(s))

        want = (n(lambda s: "withdrawal" in s), n(lambda s: "confrontation" in s),
                n(lambda s: "withdrawal" in s or "confrontation" in s), n(lambda s: "resolution" in s),
                n(lambda s: "withdrawal?" in s and "withdrawal" not in s),
                n(lambda s: "confrontation?" in s and "confrontation" not in s),
                n(lambda s: "resolution?" in s and "resolution" not in s),
                *(ratings.get(i, {}).get(k) for k in book.global_keys), not ratings.get(i))
        if tuple(cached[i]) != want:
            out.append(f"coding {i}: cached {dict(zip(names, cached[i], strict=True))}, recounted "
                       f"{dict(zip(names, want, strict=True))}")
    return out[:20]
