"""The soak test's workers: each one a separate OS process on the store named by $RRRS_DB, logging every
outcome as one JSON line, so the test can compare what each worker says it committed with what the store holds.

    python -m tests.concurrency.worker coder    --name W1 --until EPOCH --log FILE --shared DIR --plan FILE
    python -m tests.concurrency.worker importer --name IMP ...
    python -m tests.concurrency.worker reporter --name REP ...

- coder: what two app servers do. Opens codings in the scoresheet's way (`coding_edit.load_coding`), changes a
  mark while "at work" for a moment, saves with the version it opened (`save_coding`), and runs the pages'
  queries between saves. Each round starts with a duel: both coders open the same coding, wait for each other
  (files in --shared), then both save, and exactly one must win; then each edits one of its own codings or one
  both edit at random.
- importer: `rrrs import` of freshly generated tables (new dyads, therapists and patients each round), as a user
  runs it; in turn, an import in this process that fails after writing every row (it must change nothing),
  `rrrs import --replace` of a changed version of a coding the coders are editing, and the same new folder
  imported twice at once (the duplicate checks across processes).
- reporter: `rrrs report all` in a loop.

Anything unexpected is logged as an "error" line with its traceback (the test fails on any) and the worker goes
on, so one failure does not hide the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

DUEL_EVERY = 1  # a duel every round (the first as soon as the coders are connected), then a random edit
DUEL_WAIT = 30.0  # seconds a duellist waits for the other to open the coding (a save takes seconds on a busy machine)
RRRS = str(Path(sys.executable).parent / "rrrs")


class Log:
    """One JSON line per event, appended and flushed at once (a killed worker keeps what it logged)."""

    def __init__(self, path: Path, name: str):
        self.path, self.name = path, name

    def __call__(self, event: str, **fields: Any) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"event": event, "worker": self.name, "t": time.time(), **fields}, default=str)
                      + "\n")

    def guarded(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception:  # noqa: BLE001 - logged for the test to fail on, with the whole traceback
            self("error", what=what, traceback=traceback.format_exc())
            return None


def run_cli(args: list[str], timeout: float = 600) -> dict[str, Any]:
    """A user's whole `rrrs` command in its own process."""
    started = time.monotonic()
    done = subprocess.run([RRRS, *args], capture_output=True, text=True, timeout=timeout)
    return {"rc": done.returncode, "stdout": done.stdout[-2000:], "stderr": done.stderr[-4000:],
            "seconds": round(time.monotonic() - started, 2)}


# --- coder ---------------------------------------------------------------------------------------------

def _toggled(draft: Any, rng: random.Random) -> Any:
    """The draft with one mark switched on or off (so every save is a real change and a new version)."""
    from dataclasses import replace

    marks = dict(draft.marks)
    segment = rng.randint(1, int(draft.n_segments or 10))
    code = rng.choice(draft.book.keys)
    if (segment, code) in marks:
        del marks[(segment, code)]
    else:
        marks[(segment, code)] = rng.choice(("check", "check_minus"))
    return replace(draft, marks=marks)


def edit(con: Any, log: Log, key: tuple[str, int, str], rng: random.Random, pause: float,
         barrier: Callable[[], bool] | None = None, duel: int | None = None) -> None:
    from rrrs_core import coding_edit as ce
    from rrrs_core.errors import ConflictError

    draft, version = ce.load_coding(con, *key)
    time.sleep(pause)  # the coder at work: the other worker may save meanwhile
    if barrier is not None and not barrier():
        log("duel_timeout", key=key, duel=duel)
        return
    new = _toggled(draft, rng)
    started = time.monotonic()  # a save waits for the write lock while another process writes (an import)
    try:
        saved = ce.save_coding(con, new, user=log.name, expected_version=version)
    except ConflictError as exc:
        log("refused", key=key, expected=version, message=str(exc), duel=duel,
            seconds=round(time.monotonic() - started, 2))
        return
    log("saved", key=key, expected=version, version=saved, fingerprint=new.normalized().fingerprint(), duel=duel,
        seconds=round(time.monotonic() - started, 2))


def read_pages(con: Any, log: Log, plan: dict[str, Any], rng: random.Random, clinic_too: bool) -> None:
    """The queries the Caseload, Dyad, Session and Contribution pages run, and (`clinic_too`) the Clinic page's,
    whose suppression plan is recomputed after every change of data (seconds on a busy machine)."""
    from rrrs_core.queries import caseload, clinic, contribution, dyad, session
    from rrrs_core.scope import CLINIC

    started = time.monotonic()
    dyad_id, number, coder = rng.choice(plan["shared"] + plan["own"][log.name])
    rows = len(caseload.caseload(con, CLINIC))
    dyad.trajectory(con, CLINIC, dyad_id, 4)
    session.marks(con, CLINIC, dyad_id, int(number), coder)
    contribution.contribution_summary(con, CLINIC)
    if clinic_too:
        clinic.trends(con, CLINIC, "quarter")
    log("read", dyads=rows, seconds=round(time.monotonic() - started, 3))


def coder(args: argparse.Namespace, log: Log) -> None:
    from rrrs_core import store

    plan = json.loads(Path(args.plan).read_text())
    rng = random.Random(args.name)
    con = store.connect(os.environ["RRRS_DB"])
    own = [tuple(k) for k in plan["own"][args.name]]
    shared = [tuple(k) for k in plan["shared"]]
    duel_key = tuple(plan["duel"])
    n = 0
    while time.time() < args.until:
        n += 1
        if (n - 1) % DUEL_EVERY == 0:  # duel number k of each coder meets duel k of the others (the barrier)
            k = (n - 1) // DUEL_EVERY
            log.guarded("duel", lambda k=k: edit(con, log, duel_key, rng, 0.0, _barrier(args, k), duel=k))
        key = rng.choice(own + shared)
        log.guarded("edit", lambda k=key: edit(con, log, k, rng, rng.uniform(0.0, 0.4)))
        log.guarded("read", lambda c=n % 4 == 0: read_pages(con, log, plan, rng, clinic_too=c))
    con.close()
    log("done")


def _barrier(args: argparse.Namespace, duel: int) -> Callable[[], bool]:
    """Mark this duellist as having opened the coding, then wait until every duellist has."""
    def wait() -> bool:
        shared = Path(args.shared)
        (shared / f"duel-{duel}-{args.name}").touch()
        deadline = time.monotonic() + DUEL_WAIT
        while time.monotonic() < deadline:
            if len(list(shared.glob(f"duel-{duel}-*"))) >= args.duellists:
                return True
            time.sleep(0.02)
        return False
    return wait


# --- importer ------------------------------------------------------------------------------------------

def batch(folder: Path, tag: str) -> dict[str, Any]:
    """New tables (`tables.renamed`) written to `folder`, and what their import must store."""
    from tests.concurrency.tables import renamed
    from tests.tables import write_folder

    frames = renamed(tag)
    write_folder(folder, frames)
    s = frames["sessions"]
    keys = sorted({(r.dyad_id, int(r.session_number), r.coder_id) for r in s.itertuples()})
    return {"tag": tag, "dyads": [f"{tag}-1", f"{tag}-2"], "codings": keys,
            "therapists": [f"{tag}-S1", f"{tag}-T1", f"{tag}-T2"]}


def fail_late(con: Any, folder: Path) -> str:
    """Import `folder` in this process with a failure after every row is written, before the commit."""
    from rrrs_core.importing import import_path, load

    original = load.write

    def write_then_fail(*a: Any, **kw: Any) -> Any:
        original(*a, **kw)
        raise RuntimeError("soak: failing after the write, before the commit")

    load.write = write_then_fail
    try:
        import_path(con, folder, user="soak-late")
    except RuntimeError as exc:
        return str(exc)
    finally:
        load.write = original
    raise AssertionError("the late failure did not happen")


def replace_shared(con: Any, log: Log, plan: dict[str, Any], folder: Path, rng: random.Random) -> None:
    """A pipeline's corrected coding of a session the coders are editing: `rrrs import --replace` of its current
    version with one mark changed. Saves opened before it are then refused, naming this importer."""
    from rrrs_core import coding_edit as ce
    from tests.tables import write_folder

    key = tuple(rng.choice(plan["shared"]))
    draft, _version = ce.load_coding(con, *key)
    write_folder(folder, _toggled(draft, rng).normalized().to_frames())
    log("replaced", key=key, **run_cli(["import", str(folder), "--replace", "--user", log.name]))


def importer(args: argparse.Namespace, log: Log) -> None:
    from rrrs_core import store

    con = store.connect(os.environ["RRRS_DB"])
    plan = json.loads(Path(args.plan).read_text())
    rng = random.Random(args.name)
    root = Path(args.shared) / "imports"
    round_ = 0
    while time.time() < args.until:
        round_ += 1
        tag = f"I{round_:03d}"
        if round_ % 4 == 3:
            log.guarded("replace", lambda f=root / tag: replace_shared(con, log, plan, f, rng))
            continue
        info = batch(root / tag, tag)
        if round_ % 4 == 2:
            message = log.guarded("late import", lambda f=root / tag: fail_late(con, f))
            log("failed_late", **info, message=message)
        elif round_ % 4 == 0:  # the same new folder twice at the same moment
            procs = [subprocess.Popen([RRRS, "import", str(root / tag), "--user", args.name], text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
            outs = [(p.communicate(timeout=600), p.returncode) for p in procs]
            log("imported_twice", **info, runs=[{"rc": rc, "stdout": o[-2000:], "stderr": e[-4000:]}
                                                  for (o, e), rc in outs])
        else:
            log("imported", **info, **run_cli(["import", str(root / tag), "--user", args.name]))
    con.close()
    log("done")


# --- reporter ------------------------------------------------------------------------------------------

def reporter(args: argparse.Namespace, log: Log) -> None:
    round_ = 0
    while time.time() < args.until:
        round_ += 1
        out = Path(args.shared) / "reports" / f"R{round_:03d}"
        result = run_cli(["report", "all", "--out-dir", str(out), "--user", args.name])  # its default 2 workers
        log("reported", pdfs=len(list(out.glob("*.pdf"))) if out.exists() else 0, **result)
    log("done")


ROLES = {"coder": coder, "importer": importer, "reporter": reporter}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=sorted(ROLES))
    parser.add_argument("--name", required=True)
    parser.add_argument("--until", type=float, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--shared", required=True)
    parser.add_argument("--plan")
    parser.add_argument("--duellists", type=int, default=2)
    args = parser.parse_args()
    log = Log(Path(args.log), args.name)
    log("start", pid=os.getpid())
    log.guarded(args.role, lambda: ROLES[args.role](args, log))


if __name__ == "__main__":
    main()
