"""`make bench`'s CLI and shared-store parts run end to end at a small size, so the bench code cannot rot.

Not a timing test: it checks that every part runs against real processes and stores and fills its table.
"""

from __future__ import annotations

from tests.bench import common, lake


def test_cli_part_runs_at_small_size(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "WORK", tmp_path)
    monkeypatch.setenv("RRRS_BENCH_SESSIONS", "200")
    monkeypatch.setenv("RRRS_BENCH_RUNS", "1")
    out = lake.main(("cli",))
    text = out["cli"]
    assert "| `rrrs --help` |" in text and "| `rrrs audit --help` |" in text
    assert "the demo as written" in text and "without the marker" in text
    assert text.count("x |") >= 2, "both import rows have their ratios"
    assert (tmp_path / "section-cli.md").read_text() == text
    assert not list(tmp_path.glob("cli-*.duckdb")), "the bench removes its databases"
