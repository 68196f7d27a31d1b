"""The CLI starts light: building its parser (every `--help`) loads no data, chart or PDF library.

A whole `rrrs --help` took 0.53-0.74 s while `cli_admin` imported pandas (through `access`) and `cli` imported
DuckDB (through `store`); every command a user runs paid it. Checked by what a fresh process has imported, not by
a time, so the test holds on a loaded machine.
"""

from __future__ import annotations

import json
import subprocess
import sys

from rrrs_core import access, cli, cli_admin
from rrrs_core.cli_store import _parsers
from rrrs_core.importing import idrules

HEAVY = ("pandas", "numpy", "duckdb", "pyarrow", "altair", "reportlab", "vl_convert", "streamlit", "openpyxl",
         "tqdm")

PROBE = """
import json, sys
from rrrs_core.cli import main
for argv in json.loads(sys.argv[1]):
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def _loaded_after(argvs: list[list[str]]) -> set[str]:
    """The top-level modules a fresh Python process holds after running `rrrs ARGV` for each argv."""
    res = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argvs)], capture_output=True, text=True,
                         timeout=120, check=True)
    return set(json.loads(res.stdout.strip().splitlines()[-1]))


def _every_help() -> list[list[str]]:
    """`--help` of every command and subcommand the parser knows."""
    out = [["--help"]]

    def walk(parser, path: list[str]) -> None:
        for action in parser._actions:
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                for name, sub in action.choices.items():
                    out.append([*path, name, "--help"])
                    walk(sub, [*path, name])

    walk(cli.build_parser(), [])
    return out


def test_rrrs_help_imports_no_heavy_library():
    loaded = _loaded_after([["--help"]])
    assert "rrrs_core" in loaded, "the probe ran the CLI"
    assert not loaded & set(HEAVY), f"`rrrs --help` imported {sorted(loaded & set(HEAVY))}"


def test_every_subcommand_help_imports_no_heavy_library():
    argvs = _every_help()
    assert ["audit", "verify", "--help"] in argvs and ["report", "all", "--help"] in argvs
    loaded = _loaded_after(argvs)
    assert not loaded & set(HEAVY), f"a subcommand's --help imported {sorted(loaded & set(HEAVY))}"


def test_a_bad_argument_is_refused_before_anything_heavy_loads():
    """argparse refuses unknown commands, missing arguments and bad choices at parse time: still nothing
    heavy (an id given to `users add` is checked by the importer's rules, which do load)."""
    loaded = _loaded_after([["nonsense"], ["report", "dyad"], ["report", "dyad", "--dyad", "D1", "--out", "x.pdf",
                                                               "--threshold", "9"]])
    assert not loaded & set(HEAVY)


def test_the_parsers_copies_match_their_sources():
    """cli_admin keeps the role list and id limits itself so that its parser need not import them."""
    assert cli_admin.ROLES == access.ROLES
    assert (cli_admin.MAX_ID, cli_admin.MAX_SUBJECT, cli_admin.MAX_NAME) == \
        (idrules.MAX_ID, idrules.MAX_SUBJECT, idrules.MAX_NAME)


def test_ids_are_still_checked_when_given(capsys):
    """The id rules load lazily, but a bad id is still refused by the parser (exit 2, the rule named)."""
    try:
        cli.main(["users", "add", "bad\x00id", "--role", "admin", "--db", ":memory:"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a NUL in a subject must be refused")
    assert "argument subject" in capsys.readouterr().err


def test_parsers_walk_reaches_nested_commands():
    names = {p.prog for p in _parsers(cli.build_parser())}
    assert {"rrrs", "rrrs audit verify", "rrrs report all", "rrrs users add", "rrrs reliability"} <= names
