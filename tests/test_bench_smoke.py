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


def test_shared_store_part_runs_at_small_size(tmp_path, monkeypatch, pg_server):
    """Every row of the side-by-side table and the concurrent saves, on a real file and a real DuckLake."""
    monkeypatch.setattr(common, "WORK", tmp_path)
    monkeypatch.setenv("RRRS_BENCH_PAGES", "data")
    for var in ("RRRS_DB", "RRRS_DATA_PATH", "RRRS_AUDIT_KEY"):
        monkeypatch.delenv(var, raising=False)
    text = lake.lake_section(200, 1, pg_server, processes=2, seconds=1.0, workers=1)
    table = [line for line in text.splitlines() if line.startswith("| ")]
    names = [line.split(" | ")[0] for line in table]
    assert any("rrrs import" in n for n in names) and any("scoresheet save" in n for n in names)
    assert any("rrrs report all" in n for n in names) and any("data page" in n for n in names)
    assert "exception" not in text, "the page ran on both stores"
    conc = table[-1].strip("| ").split(" | ")
    assert conc[0] == "2" and int(conc[1]) > 0, "the save workers saved"
    assert conc[4] == "0", f"no save failed: {text}"


def test_browser_part_runs_at_tiny_size(tmp_path):
    """#20's browser part end to end on a 5-dyad clinic: both servers, Chromium, the light client, memory and
    the concurrency table; no timing is asserted. In its own process: Playwright's sync API refuses to start
    a second time in a thread whose event loop the suite's session-wide browser fixture already runs."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pytest

    from tests.bench import browser

    if not Path(browser.CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{browser.CHROMIUM} not found: run `make browser-deps`")
        pytest.skip(f"{browser.CHROMIUM} not found")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tests.bench import browser, common\n"
        "work = Path(sys.argv[1])\n"
        "common.WORK = work\n"
        "common.SIZES['tiny'] = 5\n"
        "text = browser.bench_browser(common.clinic_db('tiny'), 'tiny', 1, work / 'browser', concurrency=2,\n"
        "                             pages=('caseload', 'data'))\n"
        "(work / 'out.md').write_text(text)\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("RRRS_DB", "RRRS_DATA_PATH", "RRRS_AUDIT_KEY", "RRRS_FORCE_DEMO")}
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    text = (tmp_path / "out.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert any(r.startswith("| caseload |") for r in rows) and any(r.startswith("| data |") for r in rows)
    assert "x |" in rows[2], "ratios to the one-metric page"
    assert "MB resident" in text and "2 sessions opening `caseload`" in text
    assert any(r.startswith("| light websocket client") for r in rows)
    assert any(r.startswith("| Chromium contexts") for r in rows)
    assert (tmp_path / "browser" / "browser-tiny.md").read_text() == text
