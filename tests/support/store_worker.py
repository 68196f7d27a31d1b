"""A separate process for the multi-process store tests: `python -m tests.support.store_worker ACTION
LOCATION [ARG]`. It opens the store, prints "ready", waits for a line on stdin (the parent sends it once every
worker is ready, so they act together), does ACTION and prints one line of JSON. Keys come from the
environment, as for rrrs. With STORE_WORKER_NO_LOCK=1 it skips the cross-process lock: only to check by hand
that the tests fail without it.

Actions:
- `connect`: open (and so create and migrate) the store.
- `save NAME`: save a new coding of D1 session 3 by coder C9 as NAME, having "opened" it when it did not
  exist; the check of the stored version is held open half a second, so two saves overlap.
- `import FOLDER`: import a 3RS tables folder; its plan is held open half a second.
- `audit NAME N`: append N audit rows as NAME.
"""

from __future__ import annotations

import json
import os
import sys
import time

from rrrs_core import audit, store
from rrrs_core.errors import ConflictError

HOLD = 0.5


def main(argv: list[str]) -> dict[str, object]:
    action, location, *args = argv
    if os.environ.get("STORE_WORKER_NO_LOCK") == "1":
        from rrrs_core.storage import locking

        locking._advisory = lambda dsn, name: None  # type: ignore[assignment]
    con = store.connect(location) if action != "connect" else None
    print("ready", flush=True)
    sys.stdin.readline()
    if action == "connect":
        store.connect(location).close()
        return {"ok": True}
    assert con is not None
    if action == "save":
        from rrrs_core import coding_edit as ce

        current = ce._current

        def held(c, key):  # type: ignore[no-untyped-def]
            found = current(c, key)
            time.sleep(HOLD)
            return found

        ce._current = held
        draft, _ = ce.load_coding(con, "D1", 3, "C9")  # a blank draft with the stored session's header
        draft.marks = {(1, "denial"): "check"}
        try:
            return {"saved": ce.save_coding(con, draft, user=args[0], expected_version=None, status="draft")}
        except ConflictError as exc:
            return {"refused": str(exc)}
    if action == "import":
        from rrrs_core.importing import import_path, load

        plan = load.plan

        def held_plan(c):  # type: ignore[no-untyped-def]
            plan(c)
            time.sleep(HOLD)

        load.plan = held_plan
        counts = import_path(con, args[0]).counts
        return {"new": counts.codings_new, "unchanged": counts.codings_unchanged}
    if action == "audit":
        for i in range(int(args[1])):
            audit.record(con, args[0], "admin", "view dyad", f"D{i}")
        return {"ok": True}
    raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
