"""Issue 14, "Defaults and secrets": each test reproduces an attack from the sweep and checks it now fails.

Numbering follows the issue's list: 1 cookie secret, 2 tracebacks, 3 identity, 4 demo marker, 5 plaintext on
disk, 6 server defaults.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rrrs_core import access, store
from rrrs_core.cli import main as cli
from rrrs_core.errors import RrrsError
from tests.apptest import all_text, open_page
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
STRONG = TEST_SECRET
PAGE_TITLES = ("Caseload", "Dyad trajectory", "Session detail", "Therapist contribution", "Clinic", "Data",
               "Scoresheet", "Audit trail", "Users")


def auth(secret: str = STRONG) -> dict:
    """The tests' sign-in configuration (tests.test_roles.AUTH) with another cookie secret."""
    from tests.test_roles import AUTH

    return {"auth": {**AUTH["auth"], "cookie_secret": secret}}


@pytest.fixture
def db(clinic_db: Path) -> Path:
    con = store.connect(clinic_db)
    access.upsert(con, "sup1", "supervisor", therapist_id="S1", email="sup1@clinic.org")
    access.upsert(con, "boss", "admin")
    con.close()
    return clinic_db


def registered_titles(at) -> set[str]:
    """The page titles app.py registered in the navigation: what the browser's sidebar would list."""
    return {str(info.get("page_name", "")) for info in at._registered_pages.values()}


# 1. The README's example cookie_secret signs in anyone who knows it.

@pytest.mark.parametrize("secret", ["a long random string", "test-secret", "Zx9-short",
                                    "abababababababababababababababababab",
                                    # patterned secrets the sweep after the fix found accepted:
                                    "abcdefgh" * 4, "0123456789abcdefghijklmnopqrstuv",
                                    "qwertyuiopasdfghjklzxcvbnm123456", "a long random string a long random string",
                                    "k3Y9-tests-only-Qz7wX2pL8vR4nB6mJ1hT5c"])
def test_1_example_or_weak_cookie_secret_refuses_to_start(monkeypatch, db, secret):
    """A forged cookie for 'boss' (what st.user holds after Streamlit accepted a cookie signed with the
    example secret) gave "Signed in as boss (admin)". rrrs now refuses to run with such a secret."""
    at = open_page(monkeypatch, db, secrets=auth(secret), user={"is_logged_in": True, "sub": "boss"})
    text = all_text(at)
    assert not at.exception
    assert "Signed in as" not in text and "D1" not in text
    assert "will not start" in text and "rrrs setup-auth" in text
    assert secret not in text, "the refusal never echoes the secret"
    assert not registered_titles(at) & set(PAGE_TITLES)


def test_1_random_secrets_pass_the_pattern_checks():
    """The pattern checks refuse typed-in sequences and repeats, not what a generator makes: setup-auth's
    secrets always pass, and plain random strings are refused far less than once in a thousand."""
    import secrets

    from rrrs_core.auth_setup import new_secret, secret_problem

    assert [s for s in (new_secret() for _ in range(2000)) if secret_problem(s)] == []
    for make in (lambda: secrets.token_urlsafe(48), lambda: secrets.token_urlsafe(24)):
        assert sum(1 for _ in range(5000) if secret_problem(make())) <= 5


def test_1_strong_secret_signs_in(monkeypatch, db):
    at = open_page(monkeypatch, db, secrets=auth(), user={"is_logged_in": True, "sub": "boss"})
    assert "Signed in as **boss** (admin)" in [c.value for c in at.sidebar.caption]


def test_1_setup_auth_writes_a_strong_private_secret_and_check_auth_refuses_examples(tmp_path, capsys):
    from rrrs_core import auth_setup

    target = tmp_path / ".streamlit" / "secrets.toml"
    assert cli(["setup-auth", "--out", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    secret = tomllib.loads(target.read_text())["auth"]["cookie_secret"]
    assert len(secret) >= 64 and auth_setup.secret_problem(secret) is None
    assert cli(["check-auth", "--secrets", str(target)]) == 0
    assert cli(["setup-auth", "--out", str(target)]) == 1, "never overwrites a secrets file silently"
    assert tomllib.loads(target.read_text())["auth"]["cookie_secret"] == secret
    assert cli(["setup-auth", "--out", str(target), "--force"]) == 0
    assert tomllib.loads(target.read_text())["auth"]["cookie_secret"] != secret
    example = tmp_path / "example.toml"
    example.write_text('[auth]\ncookie_secret = "a long random string"\nclient_id = "rrrs"\n')
    capsys.readouterr()
    assert cli(["check-auth", "--secrets", str(example)]) == 1
    assert "published example" in capsys.readouterr().out
    assert cli(["check-auth", "--secrets", str(tmp_path / "absent.toml")]) == 0, "no file: demo mode"


# 2. Tracebacks with paths and PIDs reach users.

def test_2_error_details_are_never_shown_to_users():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


HOLD = """
import sys
import duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
"""


def test_2_database_held_by_another_process_gives_a_plain_message(monkeypatch, clinic_db):
    """A real second process (as a second app server or a CLI import would) holds the file's write lock."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(clinic_db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        at = open_page(monkeypatch, clinic_db)
        assert not at.exception, "no traceback (with the path and the holder's PID) reaches the browser"
        text = all_text(at)
        assert "in use by another process" in text
        assert str(clinic_db) not in text and "PID" not in text
        assert not registered_titles(at) & set(PAGE_TITLES)
    finally:
        holder.communicate("", timeout=30)


def test_2_second_app_process_gives_a_plain_message(monkeypatch, clinic_db):
    """The first app process holds its connection open; a second one opening the same file is told so."""
    first = subprocess.Popen([sys.executable, "-c", HOLD.replace("duckdb.connect(sys.argv[1])",
                                                                   "__import__('rrrs_core.store').store.connect("
                                                                   "sys.argv[1])"), str(clinic_db)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "holding"
        at = open_page(monkeypatch, clinic_db, secrets=auth(), user={"is_logged_in": True, "sub": "boss"})
        assert not at.exception
        assert "in use by another process" in all_text(at) and str(clinic_db) not in all_text(at)
    finally:
        first.communicate("", timeout=30)


def test_2_wrong_encryption_key_gives_a_plain_message(monkeypatch, tmp_path):
    db = tmp_path / "secret.duckdb"
    store.connect(db, key="the-right-key-0123456789").close()
    monkeypatch.setenv(store.KEY_ENV, "a-wrong-key-9876543210")
    at = open_page(monkeypatch, db)
    assert not at.exception
    text = all_text(at)
    assert "encryption key is wrong or missing" in text and str(db) not in text
    monkeypatch.delenv(store.KEY_ENV)
    at = open_page(monkeypatch, db)
    assert not at.exception and "encryption key is wrong or missing" in all_text(at)


# 3. Identity.

def test_3_unverified_email_does_not_match_a_principal(monkeypatch, db):
    """An account at the provider whose owner typed sup1@clinic.org but never verified it."""
    at = open_page(monkeypatch, db, secrets=auth(), user={"is_logged_in": True, "sub": "mallory",
                                                          "email": "sup1@clinic.org", "email_verified": False})
    assert "has no access" in all_text(at) and "D1" not in all_text(at)
    at = open_page(monkeypatch, db, secrets=auth(), user={"is_logged_in": True, "sub": "mallory",
                                                          "email": "sup1@clinic.org"})
    assert "has no access" in all_text(at), "no email_verified claim counts as unverified"
    at = open_page(monkeypatch, db, secrets=auth(), user={"is_logged_in": True, "sub": "sup1-real-sub",
                                                          "email": "Sup1@Clinic.org", "email_verified": True})
    assert "D1" in all_text(at), "the same address, verified, still signs the supervisor in"
    con = store.connect(db)
    assert access.resolve(con, "mallory", "sup1@clinic.org") is None
    assert access.resolve(con, "mallory", "sup1@clinic.org", email_verified=True).subject == "sup1"
    con.close()


def test_3_users_add_by_email_matches_the_real_sign_in(monkeypatch, db):
    """`rrrs users add carol@… --role therapist` as the README shows: the provider's sub is opaque, so the
    sign-in must match on the (verified) e-mail; it got "no access"."""
    assert cli(["users", "add", "Carol@Clinic.example", "--role", "therapist", "--therapist", "T2",
                "--db", str(db)]) == 0
    at = open_page(monkeypatch, db, secrets=auth(), user={"is_logged_in": True, "sub": "8f14e45f-opaque-sub",
                                                          "email": "carol@clinic.example", "email_verified": True})
    assert "has no access" not in all_text(at) and "D2" in all_text(at)
    con = store.connect(db)
    assert store.one(con, "SELECT subject, email FROM principal WHERE subject LIKE 'carol%'") == \
        ("carol@clinic.example", "carol@clinic.example")
    con.close()


def test_3_principals_are_normalised_and_validated(db, capsys):
    """Adding " dave@…" twice gave a traceback, and revoke then said "No user"."""
    for _ in range(2):
        assert cli(["users", "add", " dave@clinic.example", "--role", "qi", "--db", str(db)]) == 0
    assert cli(["users", "add", "DAVE@clinic.example ", "--role", "qi", "--db", str(db)]) == 0
    con = store.connect(db)
    assert store.scalar(con, "SELECT count(*) FROM principal WHERE email = 'dave@clinic.example'") == 1
    con.close()
    assert cli(["users", "revoke", "Dave@Clinic.example", "--db", str(db)]) == 0
    con = store.connect(db)
    assert access.resolve(con, "dave@clinic.example") is None
    for bad in ("", "   ", "eve\x00@clinic.example", "eve\n@clinic.example", "x" * 300):
        with pytest.raises(RrrsError):
            access.upsert(con, bad, "qi")
    with pytest.raises(RrrsError):
        access.upsert(con, "eve", "qi", email="not an address")
    assert access.resolve(con, "boss\x00") is None
    con.close()
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:  # argparse refuses it before anything opens the database
        cli(["users", "add", "eve\x07@clinic.example", "--role", "qi", "--db", str(db)])
    assert refused.value.code == 2
    assert "control or invisible character" in capsys.readouterr().err


def test_3_principals_stored_before_normalisation_still_sign_in_and_can_be_revoked(db):
    """Rows written by the old code (subject as typed, e-mail column empty) keep working after the upgrade."""
    con = store.connect(db)
    con.execute("INSERT INTO principal VALUES ('Frank@Clinic.example', NULL, NULL, 'qi', NULL, NULL, true, "
                "current_localtimestamp())")
    who = access.resolve(con, "opaque-sub", "frank@clinic.example", email_verified=True)
    assert who is not None and who.role == "qi"
    assert access.resolve(con, "opaque-sub", "frank@clinic.example") is None, "unverified: no match"
    con.close()
    assert cli(["users", "revoke", "frank@clinic.example", "--db", str(db)]) == 0
    con = store.connect(db)
    assert access.resolve(con, "opaque-sub", "frank@clinic.example", email_verified=True) is None
    assert store.scalar(con, "SELECT count(*) FROM principal WHERE lower(subject) = 'frank@clinic.example'") == 1
    con.close()


# 4. Demo mode: an empty, forged SYNTHETIC.txt let real rows in as demo data.

TABLE_NAMES = ("sessions", "marks", "ratings")


def real_upload() -> list[tuple[str, bytes, str]]:
    from tests.tables import OK

    return [(f"{t}.csv", (OK / f"{t}.csv").read_bytes(), "text/csv") for t in TABLE_NAMES]


def test_4_forged_empty_marker_does_not_make_real_rows_demo_data(monkeypatch, tmp_path):
    """The attack: on the Data page in demo mode (no sign-in), real CSVs uploaded with an empty SYNTHETIC.txt."""
    monkeypatch.delenv("RRRS_FORCE_DEMO", raising=False)
    db = tmp_path / "d.duckdb"
    at = open_page(monkeypatch, db, "data")
    at.get("file_uploader")[0].set_value([*real_upload(), ("SYNTHETIC.txt", b"", "text/plain")]).run()
    at.button[1].click().run()
    assert not at.exception
    assert "not marked as synthetic demo data" in all_text(at)
    con = store.connect(db)
    assert store.scalar(con, "SELECT count(*) FROM coding") == 0
    assert store.scalar(con, "SELECT count(*) FROM import_batch") == 0
    con.close()


def test_4_only_the_generators_unchanged_output_is_synthetic(con, tmp_path):
    """A marker copied from the demo, a marker whose digests an attacker computed for real CSVs, one changed
    byte in a demo CSV, a workbook's SYNTHETIC.txt sheet: none passes; the demo's own output does."""
    import hashlib

    import pandas as pd

    from rrrs_core import demo
    from rrrs_core.errors import ValidationError
    from rrrs_core.importing import import_path
    from tests.tables import read_ok, write_folder, write_xlsx

    genuine = tmp_path / "demo"
    demo.write(genuine, n_dyads=2, seed=3)
    marker = (genuine / "SYNTHETIC.txt").read_text()

    copied = write_folder(tmp_path / "copied")  # real rows, the demo's marker copied next to them
    (copied / "SYNTHETIC.txt").write_text(marker)
    forged = write_folder(tmp_path / "forged")  # real rows, a marker claiming their own digests
    lines = [ln for ln in marker.splitlines() if not ln.startswith("sha256.")]
    lines += [f"sha256.{t}={hashlib.sha256((forged / f'{t}.csv').read_bytes()).hexdigest()}" for t in TABLE_NAMES]
    (forged / "SYNTHETIC.txt").write_text("\n".join(lines) + "\n")
    edited = tmp_path / "edited"  # the demo with one patient id changed
    demo.write(edited, n_dyads=2, seed=3)
    text = (edited / "sessions.csv").read_text()
    (edited / "sessions.csv").write_text(text.replace("P0001", "John Real Patient", 1))
    book_frames = {**read_ok(), "SYNTHETIC.txt": pd.DataFrame({"note": ["synthetic"]})}
    book = write_xlsx(tmp_path / "real.xlsx", book_frames)
    for path in (copied, forged, edited, book):
        with pytest.raises(ValidationError) as info:
            import_path(con, path, synthetic_only=True)
        assert any("not marked as synthetic demo data" in p.message for p in info.value.problems), path
        assert not import_path(con, path, dry_run=True).synthetic, path
    assert store.scalar(con, "SELECT count(*) FROM import_batch") == 0
    report = import_path(con, genuine, synthetic_only=True)
    assert report.synthetic and report.counts.codings_new > 0


# 5. Plaintext left on disk.

def test_5_spill_files_of_an_encrypted_database_hold_no_plaintext(tmp_path, monkeypatch):
    """With RRRS_DB_KEY set, a sort bigger than memory spilled patient ids in plaintext under .tmp/."""
    import threading
    import time

    monkeypatch.chdir(tmp_path)  # the encrypted store's spill directory is .tmp/ under the working directory
    con = store.connect(tmp_path / "enc.duckdb", key="spill-test-key-0123456789abcdef")
    con.execute("SET memory_limit = '60MB'; SET threads = 1; SET preserve_insertion_order = false")
    con.execute("CREATE TEMP TABLE big AS SELECT 'P-KNOWN-ID-' || i::VARCHAR || repeat('x', 40) AS patient_id, "
                "random() AS r FROM range(3000000) t(i)")
    seen: dict[str, bool] = {}
    done = threading.Event()

    def watch() -> None:  # spill files are deleted when the query ends: read them while it runs
        while not done.is_set():
            for path in (tmp_path / ".tmp").glob("*") if (tmp_path / ".tmp").exists() else []:
                with contextlib.suppress(OSError):
                    seen[path.name] = seen.get(path.name, False) or b"P-KNOWN-ID-" in path.read_bytes()
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert con.execute("SELECT count(*) FROM (SELECT patient_id FROM big ORDER BY r)").fetchall() == [(3000000,)]
    finally:
        done.set()
        watcher.join()
        con.close()
    assert seen, "the sort spilled to disk (otherwise this test proves nothing)"
    assert not any(seen.values()), f"plaintext ids in spill files: {[n for n, hit in seen.items() if hit]}"


KILLED_UPLOAD = """
import os, signal, sys
import rrrs_core.importing.uploads as uploads
from rrrs_core import store

def killed(*args, **kwargs):  # the server is killed (OOM, kill -9, power) while the import reads the files
    print("importing", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

uploads.import_path = killed
files = [(name, open(os.path.join(sys.argv[1], name), "rb").read()) for name in ("sessions.csv", "marks.csv",
                                                                                 "ratings.csv")]
if sys.argv[2] == "xlsx":
    files = [("clinic.xlsx", open(sys.argv[3], "rb").read())]
uploads.import_uploads(store.connect(":memory:"), files)
"""


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_5_upload_killed_mid_import_leaves_no_plaintext(tmp_path, kind):
    """An upload killed mid-import left /tmp/rrrs-upload-* with the plaintext CSVs."""
    from tests.tables import OK, read_ok, write_xlsx

    frames = read_ok()
    frames["sessions"].loc[0, "patient_id"] = "P-UNIQUE-7731"
    src = tmp_path / "src"
    src.mkdir()
    for table, frame in frames.items():
        frame.to_csv(src / f"{table}.csv", index=False)
    book = write_xlsx(tmp_path / "clinic.xlsx", frames)
    temp = tmp_path / "tmp"
    temp.mkdir()
    run = subprocess.run([sys.executable, "-c", KILLED_UPLOAD, str(src), kind, str(book)], cwd=ROOT,
                         env={**os.environ, "TMPDIR": str(temp)}, capture_output=True, text=True, timeout=120)
    assert run.returncode == -9 and "importing" in run.stdout, run.stderr
    needles = [b"P-UNIQUE-7731", (OK / "marks.csv").read_bytes()[:40], book.read_bytes()[:200]]
    leftovers = [p for p in temp.rglob("*") if p.is_file() and not p.is_symlink()]
    plaintext = [p for p in leftovers if any(n in p.read_bytes() for n in needles)]
    assert plaintext == [], f"plaintext upload left on disk: {plaintext}"
    from rrrs_core.importing.uploads import clean_leftovers

    assert clean_leftovers(temp), "the dead process's staging folder is removed on the next start"
    assert not list(temp.glob("rrrs-upload-*"))


def test_5_leftovers_from_dead_processes_are_cleaned_on_start(tmp_path):
    from rrrs_core.importing.uploads import clean_leftovers

    dead = tmp_path / "rrrs-upload-4194999-abcd1234"  # beyond the default pid_max: never a live process
    old = tmp_path / "rrrs-upload-k2j3l4m5"  # written by an earlier rrrs: plaintext CSVs
    live = tmp_path / f"rrrs-upload-{os.getpid()}-efgh5678"  # an import running right now
    for folder in (dead, old, live):
        (folder / "upload").mkdir(parents=True)
        (folder / "upload" / "sessions.csv").write_text("dyad_id,patient_id\nD1,P-SECRET\n")
    os.utime(old, (0, 0))
    assert sorted(clean_leftovers(tmp_path)) == sorted([dead, old])
    assert live.exists() and not dead.exists() and not old.exists()


# 6. The server: listens on all interfaces, no CSP, page names before sign-in.

def test_6_sign_in_page_registers_no_page_names(monkeypatch, db):
    at = open_page(monkeypatch, db, secrets=auth(), user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"]
    assert not registered_titles(at) & set(PAGE_TITLES)
    with pytest.raises(Exception):  # noqa: B017 - AppTest refuses pages that are not registered
        at.switch_page("pages/clinic.py").run()
    at = open_page(monkeypatch, db, secrets=auth(), user={"is_logged_in": True, "sub": "stranger"})
    assert "has no access" in all_text(at) and not registered_titles(at) & set(PAGE_TITLES)
    at = open_page(monkeypatch, db, secrets=auth(), user={"is_logged_in": True, "sub": "boss"})
    assert set(PAGE_TITLES) <= registered_titles(at), "once signed in, the role's pages are all there"


def test_6_make_run_binds_to_localhost_by_default():
    out = subprocess.run(["make", "-n", "run", "DB=/nonexistent/x.duckdb"], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "MAKEFLAGS": ""}).stdout
    line = next(ln for ln in out.splitlines() if "streamlit run app.py" in ln)
    assert "--server.address 127.0.0.1" in line
    out = subprocess.run(["make", "-n", "run", "ADDRESS=0.0.0.0"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "--server.address 0.0.0.0" in out


# 6 (continued). The reverse proxy: deploy/nginx.conf in front of a real `streamlit run app.py`.

NGINX = Path("/usr/sbin/nginx")
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def proxy_config(app_port: int, port: int, work: Path) -> Path:
    """deploy/nginx.conf as shipped, minus TLS (no certificate here) and the port-80 redirect, listening on
    127.0.0.1:`port` and proxying to the app's port, wrapped in a main config that runs in `work`."""
    import re

    site = (ROOT / "deploy" / "nginx.conf").read_text()
    site = re.sub(r"server \{\s*listen 80;.*?\n\}\n", "", site, count=1, flags=re.S)
    site = re.sub(r"# --- TLS.*?# --- end TLS ---", f"listen 127.0.0.1:{port};", site, flags=re.S)
    assert site.count("proxy_pass http://127.0.0.1:8501;") == 2
    site = site.replace("proxy_pass http://127.0.0.1:8501;", f"proxy_pass http://127.0.0.1:{app_port};")
    temp = "\n".join(f"    {kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
    conf = work / "nginx.conf"
    conf.write_text(f"""{"user root root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {work / "nginx.pid"};
error_log {work / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {work / "access.log"};
{temp}
{site}
}}
""")
    return conf


@pytest.mark.browser
def test_6_app_behind_nginx_sends_security_headers_and_loads_without_csp_violations(tmp_path, browser):
    """Headers a clinical app should send (CSP, frame-ancestors/X-Frame-Options, nosniff, no-referrer, HSTS,
    Permissions-Policy), and Streamlit working under that CSP in Chromium: the websocket connects, the
    caseload and a dyad's charts render, and the console reports no CSP violation."""
    import base64
    import hashlib
    import re
    import urllib.request

    from tests.builders import small_clinic_db
    from tests.e2e.conftest import CHROMIUM, _free_port, _local_get, process, serve, wait_ready

    if not NGINX.exists() or not CHROMIUM.exists():
        pytest.skip("nginx or chromium missing: run `make browser-deps`")
    db = small_clinic_db(tmp_path / "proxy.duckdb")
    work = tmp_path / "nginx"
    work.mkdir()
    with serve(db, tmp_path) as app_url:
        port = _free_port()
        conf = proxy_config(int(app_url.rsplit(":", 1)[1]), port, work)
        url = f"http://127.0.0.1:{port}"
        with process([str(NGINX), "-c", str(conf), "-p", str(work), "-e", str(work / "error.log")],
                     f"{url}/_stcore/health", work / "nginx.out", "nginx", ready=lambda body: body.strip() == "ok"):
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(f"{url}/", timeout=5) as resp:
                headers = {k.lower(): v for k, v in resp.headers.items()}
                html = resp.read().decode()
            for name, value in SECURITY_HEADERS.items():
                assert headers.get(name) == value, (name, headers.get(name))
            assert headers["strict-transport-security"].startswith("max-age=")
            assert "camera=()" in headers["permissions-policy"]
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
            assert "'unsafe-eval'" not in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
            for script in re.findall(r"<script>(.*?)</script>", html, flags=re.S):  # Streamlit's inline scripts
                digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in csp, "Streamlit's inline script changed: update the CSP hash"
            assert _local_get(f"{url}/_stcore/health").strip() == "ok"

            context = browser.new_context(base_url=url + "/")
            try:
                page = context.new_page()
                console: list[str] = []
                page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
                page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation',"
                                     " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
                page.goto("")
                wait_ready(page)
                assert "Caseload" in page.locator('[data-testid="stMain"]').inner_text()
                page.goto("dyad?dyad=D1")
                wait_ready(page)
                page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=20_000)
                page.wait_for_timeout(500)
                assert page.locator('[data-testid="stException"]').count() == 0
                violations = page.evaluate("window.__csp")
            finally:
                context.close()
            assert violations == [], violations
            assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m], console
