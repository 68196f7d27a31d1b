"""The store's two backends behind `rrrs_core.store`: the embedded DuckDB file (one clinic, one process) and
DuckLake with a PostgreSQL catalog (several app servers and command-line jobs at once).

`location` parses and redacts where the store is, `lakeddl` adapts the migrations to DuckLake, `lake` opens
one, `locking` is the cross-process write lock (`writing`), and `counters` gives ids and the data version.
The rest of rrrs imports `rrrs_core.store` only.
"""
