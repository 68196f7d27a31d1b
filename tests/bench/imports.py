"""Import time against DuckDB's own read_csv of the same three files into plain tables, in one run."""

from __future__ import annotations

import duckdb

from rrrs_core import store
from rrrs_core.importing import import_path
from tests.bench.common import WORK, clinic_folder, median_time


def bench_import(size: str, runs: int) -> dict[str, float]:
    folder = clinic_folder(size)
    target = WORK / f"import-{size}.duckdb"
    plain = WORK / f"plain-{size}.duckdb"

    def fresh() -> None:
        for p in (target, plain):
            p.unlink(missing_ok=True)
            p.with_suffix(".duckdb.wal").unlink(missing_ok=True)

    def rrrs_import() -> None:
        con = store.connect(target)
        import_path(con, folder)
        con.close()

    def duckdb_read_csv() -> None:
        con = duckdb.connect(str(plain))
        for name in ("sessions", "marks", "ratings"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv(?)", [str(folder / f"{name}.csv")])
        con.close()

    ours = median_time(rrrs_import, runs, setup=fresh)
    base = median_time(duckdb_read_csv, runs, setup=fresh)
    fresh()
    return {"rrrs import": ours, "duckdb read_csv": base, "ratio": ours / base}
