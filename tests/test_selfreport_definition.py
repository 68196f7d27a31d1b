"""Self-report instruments as data: the shipped definitions, a clinic's own files (good and bad), and the copy
of each definition the store keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rrrs_core import store
from rrrs_core.cli import main
from rrrs_core.errors import ValidationError
from rrrs_core.selfreport import registry
from rrrs_core.selfreport.schema import catalog, sync

GOOD = """
id = "psq_clinic"
version = "1"
title = "Our post-session questions"
respondents = ["patient", "therapist"]

[[items]]
key = "rupture"
label = "Problem in the relationship"
yes_no = true

[[items]]
key = "repair"
label = "Talked it through"
min = 0
max = 4
step = 0.5
required = false

[[scales]]
key = "total"
label = "Repair"
items = ["repair"]
scoring = "mean"

[[scales]]
key = "rupture"
label = "Rupture"
items = ["rupture"]
scoring = "sum"

[[rules]]
name = "rupture_unresolved"
label = "Unrepaired rupture"
scale = "rupture"
when = [{ scale = "rupture", op = "=", value = 1 }, { scale = "total", op = "<", value = 2 }]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_shipped_instruments_are_the_issue_s() -> None:
    srs, wai, rup = (registry.shipped()[k] for k in ("srs", "wai_sr", "rupture_items"))
    assert srs.item_keys == ("relationship", "goals", "approach", "overall")
    assert [srs.item(k).label for k in srs.item_keys] == ["Relationship", "Goals and topics", "Approach or method",
                                                          "Overall"]
    assert all((i.min, i.max, i.step) == (0, 10, 0.1) for i in srs.items) and srs.respondents == ("patient",)
    assert srs.scale("total").scoring == "sum" and srs.scale("total").bounds(srs._by_key) == (0, 40)
    assert srs.cutoff("total") == 36 and {r.name for r in srs.rules} == {"below_cutoff", "drop"}
    assert next(r for r in srs.rules if r.name == "drop").drop == 1
    assert wai.item_keys == tuple(str(i) for i in range(1, 13))
    assert all((i.min, i.max, i.step) == (1, 5, 1) for i in wai.items)
    assert {s.key: (s.items, s.scoring) for s in wai.scales} == {
        "total": (wai.item_keys, "mean"), "task": (("1", "2", "10", "12"), "mean"),
        "bond": (("3", "5", "7", "9"), "mean"), "goal": (("4", "6", "8", "11"), "mean")}
    assert rup.item("rupture").yes_no and not rup.item("tension").required and not rup.item("resolution").required
    unresolved = rup.rules[0]
    assert unresolved.name == "rupture_unresolved"
    assert {(c.scale, c.op, c.value) for c in unresolved.when} == {("rupture", "=", 1), ("resolution", "<=", 2)}
    assert set(rup.respondents) == {"patient", "therapist"}


def test_every_shipped_rule_and_instrument_names_a_source() -> None:
    for inst in registry.shipped().values():
        assert inst.source
        assert all(r.source for r in inst.rules)
    readme = (registry.SHIPPED_DIR / "README.md").read_text()
    for cited in ("Duncan", "Miller, S. D., & Duncan", "OpenFIT", "Hatcher", "Gillaspy", "Eubanks", "Post-Session"):
        assert cited in readme


def test_a_clinic_adds_an_instrument_as_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write(tmp_path / "instruments", "psq.toml", GOOD)
    monkeypatch.setenv(registry.ENV, str(folder))
    loaded = registry.load()
    assert not loaded.problems
    inst = loaded.instruments["psq_clinic"]
    assert inst.item("repair").step == 0.5 and inst.item("rupture").yes_no
    con = store.connect(tmp_path / "db.duckdb")  # connect stores its definition
    assert ("psq_clinic", "1") in catalog(con).stored
    assert store.scalar(con, "SELECT count(*) FROM selfreport_rule WHERE instrument = 'psq_clinic'") == 2
    # the same structure as JSON is accepted too
    json_folder = write(tmp_path / "json", "x.json", json.dumps({**inst.canonical(), "id": "psq_json"}))
    assert "psq_json" in registry.load(str(json_folder)).instruments


def _swap(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


BAD_CASES = [
    (_swap('id = "psq_clinic"', 'id = "Bad Id"'), "id", "Bad Id", "lower-case letters"),
    (_swap('respondents = ["patient", "therapist"]', 'respondents = ["client"]'), "respondents", "['client']",
     "patient and/or therapist"),
    (GOOD + '[[items]]\nkey = "x"\nlabel = "X"\nmin = 5\nmax = 1\n', "items[2].max", "1", "greater than min"),
    (GOOD + '[[items]]\nkey = "y"\nlabel = "Y"\nmin = 0\nmax = 1\nstep = 0.3\n', "items[2].step", "0.3",
     "divide max - min"),
    (GOOD + '[[items]]\nkey = "rupture"\nlabel = "Again"\nmin = 0\nmax = 1\n', "items[2].key", "rupture",
     "earlier item"),
    (GOOD + '[[items]]\nkey = "z"\nlabel = "Z"\nmin = "low"\nmax = 3\n', "items[2].min", "low",
     "must be a number"),
    (_swap('items = ["repair"]', 'items = ["nope"]'), "scales[0].items", "nope", "no such item"),
    (_swap('scoring = "mean"', 'scoring = "median"'), "scales[0].scoring", "median", "sum or mean"),
    (_swap('op = "<"', 'op = "<>"'), "rules[0].when[1].op", "<>", "must be one of"),
    (GOOD + '[[rules]]\nname = "r"\nlabel = "R"\nscale = "total"\ndrop = 1\nwhen = []\n', "rules[1].when", "[]",
     "either drop"),
    (GOOD + '[[rules]]\nname = "r"\nlabel = "R"\nscale = "nowhere"\ndrop = 1\n', "rules[1].scale", "nowhere",
     "no such scale"),
    ('colour = "blue"\n' + GOOD, "colour", "blue", "unknown field"),
    (_swap('label = "Talked it through"', 'label = "' + "x" * 90 + '"'), "items[1].label", "x" * 80,
     "short label"),
]


@pytest.mark.parametrize(("text", "field", "value", "message"), BAD_CASES)
def test_a_bad_file_is_refused_whole_naming_file_field_and_value(tmp_path: Path, text: str, field: str,
                                                                 value: str, message: str) -> None:
    folder = write(tmp_path / "inst", "clinic.toml", text)
    loaded = registry.load(str(folder))
    assert set(loaded.instruments) == set(registry.shipped())  # refused whole: nothing of it is used
    hits = [p for p in loaded.problems if p.column == field]
    assert hits, [str(p) for p in loaded.problems]
    assert all(p.file == "clinic.toml" and p.severity == "error" for p in loaded.problems)
    assert hits[0].value == value and message in hits[0].message


def test_unreadable_files_and_clashing_ids(tmp_path: Path) -> None:
    folder = tmp_path / "inst"
    write(folder, "broken.toml", "id = \n")
    write(folder, "srs.toml", GOOD.replace('id = "psq_clinic"', 'id = "srs"'))
    write(folder, "a.toml", GOOD)
    write(folder, "b.toml", GOOD)
    write(folder, "notes.txt", "ignored")
    loaded = registry.load(str(folder))
    by_file = {p.file: p for p in loaded.problems}
    assert "not valid TOML" in by_file["broken.toml"].message
    assert by_file["srs.toml"].column == "id" and "shipped with rrrs" in by_file["srs.toml"].message
    assert "already defined in a.toml" in by_file["b.toml"].message
    assert loaded.instruments["srs"].origin == "rrrs" and loaded.instruments["psq_clinic"].origin.endswith("a.toml")
    with pytest.raises(ValidationError) as info:
        registry.require_valid(str(folder))
    assert {p.file for p in info.value.problems} == {"broken.toml", "srs.toml", "b.toml"}


def test_a_stored_version_keeps_its_scoring(tmp_path: Path) -> None:
    folder = write(tmp_path / "inst", "psq.toml", GOOD)
    con = store.connect(tmp_path / "db.duckdb")
    sync(con, str(folder))
    # a new label is taken
    write(folder, "psq.toml", GOOD.replace('label = "Talked it through"', 'label = "Repaired"'))
    cat = sync(con, str(folder))
    assert not cat.problems and cat.current["psq_clinic"].item("repair").label == "Repaired"
    # a changed range under the same version is refused; the stored definition stays in use
    write(folder, "psq.toml", GOOD.replace("max = 4", "max = 6"))
    cat = sync(con, str(folder))
    assert [(p.file, p.column, p.value) for p in cat.problems] == [("psq.toml", "version", "1")]
    assert "new version" in cat.problems[0].message and cat.current["psq_clinic"].item("repair").max == 4
    # with a new version it is taken, and the old one stays stored for the answers entered under it
    write(folder, "psq.toml", GOOD.replace("max = 4", "max = 6").replace('version = "1"', 'version = "2"'))
    cat = sync(con, str(folder))
    assert not cat.problems and cat.current["psq_clinic"].version == "2"
    assert {("psq_clinic", "1"), ("psq_clinic", "2")} <= set(cat.stored)
    # without the file, the latest stored version is still usable
    assert catalog(con, "").current["psq_clinic"].version == "2"


def test_cli_instruments_lists_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registry.ENV, "")  # --instruments sets it for the process: restored after the test
    good = write(tmp_path / "good", "psq.toml", GOOD)
    assert main(["instruments", "--instruments", str(good)]) == 0
    out = capsys.readouterr().out
    assert "psq_clinic 1" in out and "srs 3.0" in out and "below_cutoff, drop" in out
    bad = write(tmp_path / "bad", "psq.toml", GOOD.replace("max = 4", "max = -1"))
    assert main(["instruments", "--instruments", str(bad)]) == 2
    assert "psq.toml, column 'items[1].max' (value '-1')" in capsys.readouterr().err
    # an import refuses to start while an instrument file is bad, before the database is opened
    db = tmp_path / "x.duckdb"
    assert main(["import", str(tmp_path / "nowhere"), "--db", str(db), "--instruments", str(bad)]) == 2
    assert not db.exists()
