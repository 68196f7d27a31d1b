"""The synthetic demo clinic as "3RS tables": sessions.csv, marks.csv, ratings.csv, selfreports.csv and
SYNTHETIC.txt.

The clinic lets people try the dashboard, and lets tests and benchmarks run at scale, without any real
patient data. `demo_model.py` simulates it; this module names things (obviously synthetic pseudonyms),
lays the rows out exactly as the importer expects them, and writes the files. Output is a pure function
of (n_dyads, seed): the same arguments give byte-identical files. The patients' self-reports come from
`demo_selfreport`, drawn after the clinic is simulated, so the codings are the same with or without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rrrs_core import demo_calibration, demo_selfreport
from rrrs_core.demo_model import ARCHETYPES, BOOK, N_CODERS, N_ITEMS, TREATMENTS, Simulation, simulate
from rrrs_core.importing import synthetic

SESSION_COLUMNS = ["dyad_id", "therapist_id", "session_number", "coder_id", "n_segments", "session_date",
                   "segment_minutes", "supervisor_id", "trainee", "patient_id", "treatment", "consensus"]
MARK_COLUMNS = ["dyad_id", "session_number", "coder_id", "segment", "code", "clarity"]
RATING_COLUMNS = ["dyad_id", "session_number", "coder_id", "item", "rating"]
SELFREPORT_COLUMNS = ["dyad_id", "session_number", "respondent", "instrument", "item", "value", "completed_on"]
TABLE_NAMES = ("sessions", "marks", "ratings", "selfreports")
MARKER_FILE = "SYNTHETIC.txt"


@dataclass
class DemoTables:
    """The three 3RS tables and the self-reports; `archetypes` (dyad_id -> archetype) is the hidden truth, not
    written out."""

    sessions: pd.DataFrame
    marks: pd.DataFrame
    ratings: pd.DataFrame
    archetypes: dict[str, str] = field(default_factory=dict)
    selfreports: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SELFREPORT_COLUMNS))


def _ids(prefix: str, n: int, min_width: int) -> np.ndarray:
    width = max(min_width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _take(names: np.ndarray | list[str], idx: np.ndarray) -> pd.Series:
    """names[idx] as a pandas string column, built in Arrow (python strings per row are slow at 3M rows)."""
    arr = pc.take(pa.array(list(names), pa.string()), pa.array(idx, pa.int64()))
    return pd.Series(arr.to_pandas(), copy=False)


def _frame(sim: Simulation) -> DemoTables:
    n_dyads = len(sim.dyad_archetype)
    therapists = _ids("T", len(sim.trainee), 2)
    dyads, patients = _ids("D", n_dyads, 4), _ids("P", n_dyads, 4)
    coders = [*(f"C{i}" for i in range(1, N_CODERS + 1)), demo_calibration.MASTER]
    sess, coder = sim.coding_session, sim.coding_coder
    dyad, ther = sim.session_dyad[sess], sim.dyad_therapist[sim.session_dyad[sess]]
    sup = sim.supervisor[ther]
    sessions = pd.DataFrame({
        "dyad_id": _take(dyads, dyad),
        "therapist_id": _take(therapists, ther),
        "session_number": sim.session_number[sess].astype(np.int64),
        "coder_id": _take(coders, coder),
        "n_segments": sim.n_segments[sess].astype(np.int64),
        "session_date": pd.Series(np.datetime_as_string(sim.session_date[sess], unit="D"), dtype="str"),
        "segment_minutes": np.full(len(sess), 5, np.int64),
        "supervisor_id": _take(therapists, np.maximum(sup, 0)).where(sup >= 0),
        "trainee": sim.trainee[ther],
        "patient_id": _take(patients, dyad),
        "treatment": _take(TREATMENTS, sim.dyad_treatment[dyad]),
        "consensus": np.zeros(len(sess), bool),
    })
    mc = sim.mark_coding
    marks = pd.DataFrame({
        "dyad_id": _take(dyads, dyad[mc]),
        "session_number": sessions["session_number"].to_numpy()[mc],
        "coder_id": _take(coders, coder[mc]),
        "segment": sim.mark_segment.astype(np.int64),
        "code": _take(BOOK.keys, sim.mark_code),
        "clarity": _take(["check", "check_minus"], sim.mark_minus.astype(np.int64)),
    })
    rated = np.flatnonzero(~sim.pending)
    rc = np.repeat(rated, N_ITEMS)
    ratings = pd.DataFrame({
        "dyad_id": _take(dyads, dyad[rc]),
        "session_number": sessions["session_number"].to_numpy()[rc],
        "coder_id": _take(coders, coder[rc]),
        "item": _take(BOOK.rating_items, np.tile(np.arange(N_ITEMS), len(rated))),
        "rating": sim.ratings[rated].ravel().astype(np.int64),
    })
    archetypes = dict(zip(dyads.tolist(), (ARCHETYPES[a] for a in sim.dyad_archetype), strict=True))
    return DemoTables(sessions, marks, ratings, archetypes)


def _selfreports(sim: Simulation, seed: int) -> pd.DataFrame:
    r = demo_selfreport.simulate(sim, seed)
    dyads = _ids("D", len(sim.dyad_archetype), 4)
    # Every value is one of a few texts (SRS: 0.0-10.0 by tenths; others whole numbers; the rupture item yes/no),
    # so the column is an index into those texts, named in Arrow like the other columns.
    tenths = [f"{i / 10:.1f}" for i in range(101)]
    texts = [*tenths, *(str(i) for i in range(6)), "no", "yes"]
    srs = r.instrument == demo_selfreport.INSTRUMENTS.index("srs")
    whole = np.rint(r.value).astype(np.int64)
    index = np.where(srs, np.rint(r.value * 10).astype(np.int64), len(tenths) + whole)
    index = np.where(r.item == demo_selfreport.ITEMS.index("rupture"), len(texts) - 2 + whole, index)
    return pd.DataFrame({
        "dyad_id": _take(dyads, r.dyad),
        "session_number": r.session_number.astype(np.int64),
        "respondent": _take(demo_selfreport.RESPONDENTS, r.respondent),
        "instrument": _take(demo_selfreport.INSTRUMENTS, r.instrument),
        "item": _take(demo_selfreport.ITEMS, r.item),
        "value": _take(texts, index),
        "completed_on": pd.Series(np.datetime_as_string(r.completed_on, unit="D"), dtype="str"),
    })


def generate(n_dyads: int = 40, seed: int = 7) -> DemoTables:
    """Simulate a clinic of `n_dyads` dyads (~20 sessions each); deterministic for a seed."""
    sim = demo_calibration.extend(simulate(n_dyads, np.random.default_rng(seed)), seed)
    tables = _frame(sim)
    tables.selfreports = _selfreports(sim, seed)
    return tables


def write_tables(out: Path, tables: DemoTables) -> None:
    """The four CSVs, byte for byte as the importer's synthetic check regenerates them."""
    con = duckdb.connect()  # DuckDB's CSV writer is ~10x faster than pandas at 3M rows
    try:
        con.execute("SET preserve_insertion_order = true")
        for name in TABLE_NAMES:
            df = getattr(tables, name)
            con.register("frame", df)
            target = str(out / f"{name}.csv").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM frame) TO '{target}' (FORMAT csv, HEADER, DELIMITER ',')")
            con.unregister("frame")
    finally:
        con.close()


def write(out_dir: str | Path, n_dyads: int = 40, seed: int = 7) -> DemoTables:
    """Generate the clinic and write the four CSVs plus SYNTHETIC.txt into `out_dir`. The marker carries the
    CSVs' digests, seed and size, so the importer can check that they are this generator's output
    (`importing.synthetic`): demo mode, which has no sign-in, accepts nothing else."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = generate(n_dyads, seed)
    write_tables(out, tables)
    digests = {name: synthetic.digest(out / f"{name}.csv") for name in TABLE_NAMES}
    (out / MARKER_FILE).write_text(synthetic.marker_text(n_dyads, seed, digests), encoding="utf-8")
    return tables
