"""`valueloop backup` / `restore` attacked without a stack: whom the hold stops (never a stranger behind a stale pid
file), that a dying backup lets go at once, one backup at a time, where a backup may go, that a failed one leaves
nothing, private copies of the secret key, manifests that are tampered with, incomplete or from a newer schema, and
on PostgreSQL a dump of one snapshot and a restore that is all or nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import backup as ops

PG = "postgresql://postgres@127.0.0.1:5432"


def here(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    import cli as valueloop

    result = CliRunner().invoke(valueloop.app, list(args),
                                env={"DATABASE_URL": None, "ATTACHMENTS_DIR": None, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def installation(data: Path, revision: str = "0013") -> Path:
    """A stopped data dir in miniature: both SQLite stores, an attachment, the secret key (world-readable)."""
    data.mkdir()
    for name, table in (("valueloop.db", "alembic_version"), ("temporal.db", "executions")):
        con = sqlite3.connect(data / name)
        con.execute(f"CREATE TABLE {table} (version_num TEXT)")
        con.execute(f"INSERT INTO {table} VALUES (?)", (revision,))
        con.commit()
        con.close()
    (data / "attachments" / "ab").mkdir(parents=True)
    (data / "attachments" / "ab" / "abcdef").write_bytes(b"%PDF-1.4 an invoice")
    (data / "secret.key").write_text("k" * 48)
    (data / "secret.key").chmod(0o644)
    return data


def state(pid: int) -> str:
    """The process's state letter (T: stopped), '' once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


SLEEPER = "import time; time.sleep(120)"
FAKE_UP = ("import subprocess, sys, time\n"
           "w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', 'worker'])\n"
           "open(sys.argv[-1] + '.ready', 'w').write(str(w.pid))\n"
           "time.sleep(120)\n")


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGCONT)
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def fake_up(data: Path, procs: list[subprocess.Popen[bytes]], cwd: Path | None = None) -> tuple[int, int]:
    """A process whose command line is `… -m cli up --data-dir DATA` with a `worker` child, and up's pid file."""
    marker = data.parent / f"up-{uuid.uuid4().hex[:6]}"
    p = subprocess.Popen([sys.executable, "-c", FAKE_UP, "-m", "cli", "up", "--data-dir", str(data), str(marker)],
                         start_new_session=True, cwd=cwd)
    procs.append(p)
    ready = Path(f"{marker}.ready")
    for _ in range(300):
        if ready.exists() and ready.read_text():
            break
        time.sleep(0.05)
    (data / "valueloop.pid").write_text(str(p.pid))
    return p.pid, int(ready.read_text())


def test_the_hold_finds_up_and_its_worker_and_never_a_stranger(tmp_path: Path,
                                                              procs: list[subprocess.Popen[bytes]]) -> None:
    data = installation(tmp_path / "data")
    up, worker = fake_up(data, procs)
    assert ops.running_up(data) == [up, worker]
    assert ops.running_up(tmp_path / "data" / ".." / "data") == [up, worker]

    # `up` was killed with -9: its pid file stays, and its pid now names `docker compose up`, say (whose plugin path
    # holds "cli"): the old check (an argument "up" and one containing "cli") would have SIGSTOPped it
    stale = tmp_path / "stale"
    installation(stale)
    (stale / "valueloop.pid").write_text("1")
    os.utime(stale / "valueloop.pid", (time.time() - 60, time.time() - 60))
    stranger = subprocess.Popen([sys.executable, "-c", SLEEPER, "/usr/libexec/docker/cli-plugins/docker-compose",
                                 "compose", "up"], start_new_session=True)
    procs.append(stranger)
    (stale / "valueloop.pid").write_text(str(stranger.pid))
    os.utime(stale / "valueloop.pid", (time.time() - 60, time.time() - 60))  # written before the stranger started
    assert ops.running_up(stale) == []
    # the same `up` command line, started after the pid file was written: a reused pid, not the `up` that wrote it
    (data / "valueloop.pid").write_text(str(up))
    os.utime(data / "valueloop.pid", (time.time() - 60, time.time() - 60))
    assert ops.running_up(data) == []
    # an `up` running on another data dir, named by this one's stale pid file
    (stale / "valueloop.pid").write_text(str(up))
    assert ops.running_up(stale) == []
    code, out, err = here("backup", "--data-dir", str(stale), "--to", str(tmp_path / "bk"))
    assert code == 0 and "nothing was held" in out, err
    assert state(up) != "T" and state(stranger.pid) != "T"


def test_a_backup_that_dies_while_holding_lets_go_at_once(tmp_path: Path,
                                                          procs: list[subprocess.Popen[bytes]]) -> None:
    data = installation(tmp_path / "data")
    up, worker = fake_up(data, procs)
    dying = subprocess.run([sys.executable, "-c",
                            "import os, signal, sys, backup\n"
                            "with backup.held(backup.running_up(backup.Path(sys.argv[1]))):\n"
                            "    print(open(f'/proc/{sys.argv[2]}/stat').read().rsplit(')', 1)[1].split()[0], flush=True)\n"
                            "    os.kill(os.getpid(), signal.SIGKILL)\n", str(data), str(worker)],
                           cwd=Path(ops.__file__).parent, capture_output=True, text=True, timeout=60)
    assert dying.returncode == -signal.SIGKILL and dying.stdout.strip() == "T", dying.stderr  # it was held
    t0 = time.monotonic()
    while "T" in (state(up), state(worker)) and time.monotonic() - t0 < 10:
        time.sleep(0.05)
    # before: only after the watchdog's 60 s
    assert state(up) not in ("T", "") and state(worker) not in ("T", ""), time.monotonic() - t0


def test_a_hold_that_outlasts_its_watchdog_is_no_backup(tmp_path: Path, procs: list[subprocess.Popen[bytes]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data = installation(tmp_path / "data")
    up, worker = fake_up(data, procs)
    monkeypatch.setattr(ops, "HOLD_WATCHDOG_SECONDS", 0.0)  # the watchdog continues them before the copies end
    code, _, err = here("backup", "--data-dir", str(data), "--to", str(tmp_path / "bk"))
    assert code == 1 and "longer than the hold may last (0 s), so they are not of one instant" in err, err
    assert not (tmp_path / "bk").exists()
    assert state(up) not in ("T", "") and state(worker) not in ("T", "")


def test_one_backup_of_a_data_dir_at_a_time(tmp_path: Path) -> None:
    data = installation(tmp_path / "data")
    with ops._only_backup(data):  # a second backup's SIGCONT would end the first's hold half-way
        code, _, err = here("backup", "--data-dir", str(data), "--to", str(tmp_path / "bk"))
    assert code == 1 and err.strip() == f"valueloop: another backup of {data} is running; wait for it to finish"
    assert not (tmp_path / "bk").exists()
    code, _, err = here("backup", "--data-dir", str(data), "--to", str(tmp_path / "bk"))
    assert code == 0, err


def test_where_a_backup_may_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = installation(tmp_path / "data")
    (tmp_path / "a-file").write_text("x")
    code, _, err = here("backup", "--data-dir", str(data), "--to", str(tmp_path / "a-file"))
    assert code == 1 and "a-file is a file; back up into a new or empty directory" in err, err
    for inside in (data / "backups" / "b1", data / "attachments" / "b1"):  # inside the attachments: copied into itself
        code, _, err = here("backup", "--data-dir", str(data), "--to", str(inside))
        assert code == 1 and "is inside the data dir or its attachments" in err, err
        assert not inside.exists()
    monkeypatch.chdir(tmp_path)
    code, _, err = here("backup", "--data-dir", "data", "--to", "rel/bk")
    assert code == 0, err
    assert json.loads((tmp_path / "rel" / "bk" / "manifest.json").read_text())["source_data_dir"] == str(data)
    # a private copy of the secret key, in a private directory, whatever the original's mode
    assert (tmp_path / "rel" / "bk").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "rel" / "bk" / "secret.key").stat().st_mode & 0o777 == 0o600


def test_a_failed_backup_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = installation(tmp_path / "data")

    def full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copytree", full)
    for target in (tmp_path / "new", tmp_path / "empty"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        code, _, err = here("backup", "--data-dir", str(data), "--to", str(target))
        assert code == 1 and err.strip() == "valueloop: [Errno 28] No space left on device", err
        assert not (target / "temporal.db").exists() and not (target / "valueloop.db").exists()
    assert not (tmp_path / "new").exists() and list((tmp_path / "empty").iterdir()) == []


def test_attachments_with_odd_names_round_trip(tmp_path: Path) -> None:
    data = installation(tmp_path / "data")
    odd = [b"-rf", b"a b", b"new\nline", b"\xff\xfe not utf-8", "ünï ✓".encode(), b"manifest.json", b".hidden"]
    for name in odd:
        (data / "attachments" / "ab" / os.fsdecode(name)).write_bytes(name * 3)
    assert here("backup", "--data-dir", str(data), "--to", str(tmp_path / "bk"))[0] == 0
    code, _, err = here("restore", "--from", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "new"))
    assert code == 0, err
    for name in odd:
        assert (tmp_path / "new" / "attachments" / "ab" / os.fsdecode(name)).read_bytes() == name * 3


@pytest.fixture
def bk(tmp_path: Path) -> Path:
    data = installation(tmp_path / "data")
    assert here("backup", "--data-dir", str(data), "--to", str(tmp_path / "bk"))[0] == 0
    return tmp_path / "bk"


def edit_manifest(bk: Path, change: object) -> None:
    m = json.loads((bk / "manifest.json").read_text())
    change(m)  # type: ignore[operator]
    (bk / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize(("tamper", "says"), [
    (lambda bk: (bk / "attachments" / "zz").write_bytes(b"MZ not listed"),
     "the backup holds attachments/zz, which its manifest does not list"),
    (lambda bk: edit_manifest(bk, lambda m: m["files"].pop("secret.key")),
     "the backup holds secret.key, which its manifest does not list"),  # a swapped key, its line deleted
    (lambda bk: edit_manifest(bk, lambda m: m.pop("files")), "manifest.json is incomplete"),
    (lambda bk: edit_manifest(bk, lambda m: m["database"].pop("kind")), "manifest.json is incomplete"),
    (lambda bk: (bk / "manifest.json").write_text("[1, 2]"), "is a backup of format None; this version reads 1"),
    (lambda bk: (bk / "manifest.json").write_bytes(b"\xff\xfe"), "manifest.json is not valid JSON"),
    (lambda bk: edit_manifest(bk, lambda m: m["database"].update(kind="mysql")), "names a database this version"),
    (lambda bk: edit_manifest(bk, lambda m: m["files"].update({"../data/secret.key": m["files"]["secret.key"]})),
     "the backup misses ../data/secret.key"),
    (lambda bk: edit_manifest(bk, lambda m: m["database"].update(alembic_revision="0099")),
     "the backup's database is at schema revision 0099, which this version of Valueloop does not know"),
])
def test_restore_refuses_a_backup_it_cannot_trust(tmp_path: Path, bk: Path, tamper: object, says: str) -> None:
    tamper(bk)  # type: ignore[operator]
    code, _, err = here("restore", "--from", str(bk), "--data-dir", str(tmp_path / "new"))
    assert code == 1 and says in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if "restoring" in p.name] == []


def test_restore_targets(tmp_path: Path, bk: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    code, _, err = here("restore", "--from", str(bk), "--data-dir", str(tmp_path / "a-file"))
    assert code == 1 and "a-file is a file; restore into a new or empty directory" in err, err
    code, _, err = here("restore", "--from", str(bk), "--data-dir", str(tmp_path / "data"))  # the live one
    assert code == 1 and "data is not empty" in err, err
    code, _, err = here("restore", "--from", str(bk), "--data-dir", str(bk / "new"))  # it would spoil the backup
    assert code == 1 and "new is inside the backup; restore into a directory outside it" in err, err
    assert not (bk / "new").exists() and [p.name for p in bk.iterdir() if "restoring" in p.name] == []
    (tmp_path / "empty").mkdir()
    code, out, err = here("restore", "--from", str(bk), "--data-dir", str(tmp_path / "empty"))
    assert code == 0 and "start it with: valueloop up --data-dir" in out, err
    assert (tmp_path / "empty").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "empty" / "secret.key").stat().st_mode & 0o777 == 0o600


# --- PostgreSQL --------------------------------------------------------------------------------------------------

def _psql(db: str, sql: str) -> str:
    out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", f"{PG}/{db}", "-c", sql],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def pg_dbs() -> Iterator[list[str]]:
    try:
        _psql("postgres", "SELECT 1")
    except (AssertionError, OSError):
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    names = [f"vl_r_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for n in names:
        _psql("postgres", f'CREATE DATABASE "{n}"')
    yield names
    for n in names:
        _psql("postgres", f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


def test_postgres_dump_of_one_snapshot_and_a_restore_that_is_all_or_nothing(
        tmp_path: Path, pg_dbs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    src, busy, empty = pg_dbs
    _psql(src, "CREATE TABLE alembic_version (version_num text); INSERT INTO alembic_version VALUES ('0013');"
               "CREATE TABLE t (x int); CREATE INDEX t_x_idx ON t (x); INSERT INTO t SELECT generate_series(1, 100)")
    data = installation(tmp_path / "data")
    (data / "valueloop.db").unlink()

    # a write committed after the hold let go, while pg_dump still runs, is not in the dump: it dumps the snapshot
    # taken in the hold (the hold no longer lasts as long as pg_dump)
    real_run = subprocess.run

    def late_write(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        if args[0] == "pg_dump":
            _psql(src, "INSERT INTO t VALUES (1000)")
        return real_run(args, **kw)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(subprocess, "run", late_write)
    report = ops.backup(data, tmp_path / "bk", f"{PG}/{src}")
    monkeypatch.setattr(subprocess, "run", real_run)
    assert report.manifest["database"] == {"kind": "postgresql", "file": "valueloop.pgdump", "alembic_revision": "0013"}

    # a target that is not empty in a way the table count misses: pg_restore fails on the index; nothing stays
    _psql(busy, "CREATE SEQUENCE t_x_idx")
    code, _, err = here("restore", "--from", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "new"),
                        "--database-url", f"{PG}/{busy}")
    assert code == 1 and "pg_restore failed" in err, err
    assert _psql(busy, "SELECT to_regclass('t') IS NULL") == "t"  # before: table t stayed, half a restore
    assert not (tmp_path / "new").exists()
    code, _, err = here("restore", "--from", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "new"),
                        "--database-url", f"{PG}/{src}")
    assert code == 1 and "the target database is not empty" in err, err

    code, _, err = here("restore", "--from", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "new"),
                        "--database-url", f"{PG}/{empty}")
    assert code == 0, err
    assert _psql(empty, "SELECT count(*), max(x) FROM t") == "100|100"
    assert _psql(src, "SELECT count(*) FROM t") == "101"
