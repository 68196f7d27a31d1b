"""Issue 14, "Markdown and HTML in ids and notes are rendered": a patient id `![x](http://host/b.png)` made
Chromium fetch an outside URL. Ids, names and notes must reach the page as the literal text typed.

AppTest checks the Markdown strings the pages send (escaped, `rrrs_ui.text.md`) and that a note body goes
out as plain text; the PDF test checks ReportLab's mini-HTML; one browser test proves that no request to
the planted URLs is made and that the literal text is what a person sees.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from rrrs_core import notes, store
from rrrs_core.importing import import_path
from rrrs_ui.text import md
from tests.apptest import open_page
from tests.tables import read_ok, write_folder

BAIT = "127.0.0.1:9"  # nothing listens there; the browser test intercepts every request to it anyway


def evil(host: str = BAIT) -> dict[str, str]:
    return {
        "dyad": f"![x](http://{host}/b.png)",
        "patient": f'<img src="http://{host}/i.png">',
        "therapist": "**T1**",
        "supervisor": f"![s](http://{host}/s.png)",
        "coder": "[C1](http://evil.example/)",
        "note": f"![n](http://{host}/n.png) <img src=http://{host}/m.png> # not a heading\n*not italic*",
        "author": "<b>Dr X</b> ![a](http://{host}/a.png)".replace("{host}", host),
    }


def evil_db(path: Path, host: str = BAIT) -> Path:
    """The known-good tables with D1, T1, C1 and D1's patient renamed to Markdown/HTML, and a note."""
    e = evil(host)
    frames = read_ok()
    for frame in frames.values():
        frame.replace({"dyad_id": {"D1": e["dyad"]}, "coder_id": {"C1": e["coder"]}}, inplace=True)
    s = frames["sessions"]
    s.loc[s.dyad_id == e["dyad"], "patient_id"] = e["patient"]
    s.replace({"therapist_id": {"T1": e["therapist"]}, "supervisor_id": {"S1": e["supervisor"]}}, inplace=True)
    con = store.connect(path)
    try:
        import_path(con, write_folder(path.parent / "evil_tables", frames))
        notes.add(con, e["dyad"], e["author"], e["note"])
        notes.add(con, e["dyad"], e["author"], e["note"], session_number=1)
    finally:
        con.close()
    return path


def rendered(at) -> list[str]:
    """Every string the page sent to be rendered as Markdown."""
    elements = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success, *at.title,
                *at.header, *at.subheader]
    return [str(e.value) for e in elements] + [str(m.label) for m in at.metric]


UNSAFE = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)<(img|b)\b|(?<!\\)\]\(http|(?<!\\)\*\*T1")


def test_md_escapes_markdown_html_and_directives():
    for e in evil().values():
        assert not UNSAFE.search(md(e))
    assert md("D1") == "D1"
    assert md(":red[x] $x$ &lt; `c`\n# h") == r":red\[x\] \$x\$ \&lt; \`c\` \# h"
    assert [md(s) for s in ("1. a", "- b", "P-ALPHA", "a\\b")] == [r"1\. a", r"\- b", "P-ALPHA", r"a\\b"]


@pytest.mark.parametrize(("page", "params"), [("dyad", {"dyad": "D"}), ("session", {"dyad": "D", "session": "1"}),
                                              ("caseload", {"scope": "S"}), ("contribution", {"scope": "S"}),
                                              ("reliability", {"pair": "C,C2"})])
def test_pages_send_ids_and_notes_escaped(monkeypatch, tmp_path, page, params):
    """Before the fix the dyad and session headers interpolated ids into st.markdown as they were, and a note
    body was passed to st.markdown whole."""
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")
    e = evil()
    db = evil_db(tmp_path / "evil.duckdb")
    fill = {"D": e["dyad"], "S": f"supervisor:{e['supervisor']}", "C,C2": f"C2,{e['coder']}"}
    at = open_page(monkeypatch, db, page, {k: fill.get(v, v) for k, v in params.items()})
    assert not at.exception, [x.value for x in at.exception]
    strings = rendered(at)
    assert strings
    bad = [s for s in strings if UNSAFE.search(s)]
    assert not bad, bad
    if page == "reliability":  # the pair's coder, in the design line and the drill-down
        assert any(md(e["coder"]) in s for s in strings), strings
    if page in ("caseload", "contribution"):  # the scope's label names the supervisor
        assert any(md(e["supervisor"]) in s for s in strings), strings
    if page in ("dyad", "session"):
        assert any(md(e["dyad"]) in s for s in strings)  # the id is there, escaped
        assert e["note"] in [t.value for t in at.text]  # the note as plain text
        assert any(md(e["author"]) in s for s in strings)


def test_pdf_report_escapes_ids_and_notes(tmp_path):
    """ReportLab's Paragraph parses mini-HTML (`<b>`, `<img>`, `<a href>`): ids, authors and notes go
    through xml escape, so the report builds and shows them literally."""
    from pypdf import PdfReader

    from rrrs_core.reports.dyad import dyad_report

    e = evil()
    con = store.connect(evil_db(tmp_path / "evil.duckdb"))
    try:
        pdf = dyad_report(con, e["dyad"], generated_by=e["author"])
    finally:
        con.close()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert e["dyad"] in text and "<b>Dr X</b>" in text and "<img src=" in text


# --- a real browser ------------------------------------------------------------------------------------


@pytest.mark.browser
def test_browser_fetches_nothing_planted_and_shows_the_literal_text(tmp_path, browser):
    """The dyad and session pages of a clinic whose ids and notes carry `![x](http://127.0.0.1:P/b.png)` and
    `<img src=...>`: every request the page makes is intercepted, none goes to the planted URLs, and the
    literal id and note text are what the page shows."""
    from tests.e2e import conftest as e2e

    bait_port = e2e._free_port()
    host = f"127.0.0.1:{bait_port}"
    e = evil(host)
    db = evil_db(tmp_path / "evil.duckdb", host)
    fetched: list[str] = []
    with e2e.serve(db, tmp_path) as url:
        context = browser.new_context(viewport=e2e.VIEWPORT, base_url=url + "/")
        context.set_default_timeout(e2e.ACTION_TIMEOUT)

        def watch(route) -> None:
            target = route.request.url
            if f":{bait_port}/" in target or "evil.example" in target:
                fetched.append(target)
                route.abort()
            else:
                route.continue_()

        context.route("**/*", watch)
        page = context.new_page()
        e2e.goto(page, "/")  # app.py first (see tests/e2e/conftest.warm_app_url)
        for path in (f"dyad?dyad={quote(e['dyad'], safe='')}",
                     f"session?dyad={quote(e['dyad'], safe='')}&session=1"):
            e2e.goto(page, path)
            page.wait_for_timeout(1000)  # images load after the run
            e2e.assert_no_exception(page)
            assert fetched == [], f"{path} fetched the planted URLs"
            text = e2e.page_text(page)
            assert e["dyad"] in text, text[:3000]
            assert "![n](" in text and "<img src=" in text  # the note, literally
            assert page.locator("[data-testid='stMain'] img").count() == 0
            if path.startswith("dyad"):
                assert e["patient"] in text
        context.close()
    assert fetched == []
