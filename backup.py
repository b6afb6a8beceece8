"""Backup and restore of an installation that `valueloop up` runs (`valueloop backup`, `valueloop restore`).

What a backup holds: the domain database (SQLite through its online backup API, or PostgreSQL through
`pg_dump -Fc`), the Temporal dev server's SQLite store (online backup API too), the attachments and the data dir's
secret key, with a manifest of versions, times, the alembic revision and each file's size and SHA-256.

Why the pair restores consistently. Temporal is the record of process state; every activity writes its effect in one
domain transaction under an idempotency key and only then reports its completion to Temporal. So the domain must be
at least as new as Temporal's store: Temporal is copied first, the domain second. Whatever Temporal's copy says is
done is then in the domain's copy; an activity whose effect is in the domain but whose completion is not in
Temporal's copy runs again after a restore and finds its key (a no-op). What ordering alone cannot rule out is the
other way round: a process started after Temporal's copy whose first activity wrote before the domain's copy. So
while both copies are taken, the backup holds the API and the worker that `up` runs on this data dir (SIGSTOP,
SIGCONT right after, and a watchdog process that sends SIGCONT should the backup itself die): no request and no
activity start reaches either store in between, and the pair is what a kill -9 of API and worker at that instant
would have left, which the platform recovers from (tests/faults). On PostgreSQL the hold covers exporting a
snapshot of the domain database; pg_dump dumps that snapshot after the hold.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT = 1
MANIFEST = "manifest.json"
DOMAIN_SQLITE = "valueloop.db"  # the names `up` gives the files in its data dir
DOMAIN_PGDUMP = "valueloop.pgdump"
TEMPORAL_DB = "temporal.db"
ATTACHMENTS = "attachments"
SECRET = "secret.key"
PIDFILE = "valueloop.pid"  # written by `up`: whom to hold during the snapshot
HOLD_WATCHDOG_SECONDS = 60.0


class BackupError(Exception):
    """A refusal or failure, said in one sentence for the operator."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _non_empty(path: Path) -> bool:
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres:"))


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://…) as pg_dump and pg_restore take it (postgresql://…)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def domain_url(data_dir: Path, database_url: str | None) -> str:
    """The database `up --data-dir data_dir` uses: DATABASE_URL when set, else the data dir's SQLite file."""
    return database_url or f"sqlite:///{data_dir.resolve()}/{DOMAIN_SQLITE}"


def _sqlite_path(url: str) -> Path:
    return Path(url.split("///", 1)[-1])


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL or not) by the online backup API, in one step: the copy is
    the source as of one read transaction, whoever writes meanwhile."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # pages=-1: all at once
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
    finally:
        src.close()


def _alembic_revision_sqlite(path: Path) -> str | None:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return str(row[0]) if row else None


def _pg_table_count(url: str) -> int:
    out = subprocess.run(["psql", "-XAtq", "-d", libpq_url(url), "-c",
                          "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise BackupError(f"cannot reach the target database: {out.stderr.strip()}")
    return int(out.stdout.strip())


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from settings import venv_binary

    found = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}
    for name in ("valueloop", "temporalio", "sqlalchemy", "alembic"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found["temporal_cli"] = subprocess.run([str(venv_binary("temporal")), "--version"], capture_output=True,
                                               text=True, timeout=10).stdout.strip()
    return found


# --- the hold: `up`'s API and worker stopped for the instant of the snapshot --------------------------------------

def _cmdline(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def _started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), from /proc; None when it does not exist."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _up_data_dir(pid: int, cmd: list[bytes]) -> Path | None:
    """The data dir the `up` process `pid` was started with (its --data-dir, else var, against its cwd)."""
    args = [a.decode(errors="surrogateescape") for a in cmd]
    given = "var"
    for i, a in enumerate(args):
        if a == "--data-dir" and i + 1 < len(args):
            given = args[i + 1]
        elif a.startswith("--data-dir="):
            given = a.split("=", 1)[1]
    try:
        return (Path(os.readlink(f"/proc/{pid}/cwd")) / given).resolve()
    except OSError:
        return None  # not ours to look at (another user's process): not ours to stop either


def running_up(data_dir: Path) -> list[int]:
    """The pids of the `up` on this data dir (its API) and of its worker; [] when none runs.

    The pid file outlives an `up` that was killed, and its pid may since name another process: it is held only if
    its command line is an `up` of this very data dir and it started before the pid file was written."""
    pidfile = data_dir / PIDFILE
    try:
        pid = int(pidfile.read_text().strip())
        written = pidfile.stat().st_mtime
    except (OSError, ValueError):
        return []
    cmd = _cmdline(pid)
    started = _started_at(pid)
    if (pid == os.getpid() or b"up" not in cmd or started is None or started > written + 2
            or _up_data_dir(pid, cmd) != data_dir.resolve()):
        return []  # a stale pid file (up was killed) whose pid now names something else
    return [pid, *(c for c in _children(pid) if b"worker" in _cmdline(c))]


def _wait_stopped(pid: int, seconds: float = 10.0) -> None:
    """Return once every thread of `pid` has stopped (or the process is gone)."""
    deadline = time.monotonic() + seconds
    while True:
        states = []
        for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
            with contextlib.suppress(OSError, IndexError):
                states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        if all(s in "TtZX" for s in states):
            return
        if time.monotonic() > deadline:
            raise BackupError(f"process {pid} did not stop within {seconds:.0f} s of SIGSTOP; nothing was copied")
        time.sleep(0.001)


@contextlib.contextmanager
def held(pids: list[int]) -> Iterator[None]:
    """`pids` stopped (SIGSTOP) for the block. A watchdog in a session of its own continues them as soon as this
    process dies inside the block (its pipe from us closes), and after HOLD_WATCHDOG_SECONDS in any case: a backup
    whose hold took longer fails (backup() checks), as its pair of copies is then not of one instant."""
    if not pids:
        yield
        return
    script = ("import os, select, signal, sys\n"
              "select.select([sys.stdin], [], [], float(sys.argv[1]))\n"  # our end closes, or time is up
              "for p in sys.argv[2:]:\n"
              "    try: os.kill(int(p), signal.SIGCONT)\n"
              "    except OSError: pass\n")
    watchdog = subprocess.Popen([sys.executable, "-c", script, str(HOLD_WATCHDOG_SECONDS), *map(str, pids)],
                                start_new_session=True, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    stopped: list[int] = []
    try:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        for pid in stopped:  # a signal is delivered, not done, when kill returns: a thread may be inside a write
            _wait_stopped(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        watchdog.kill()
        watchdog.wait()
        assert watchdog.stdin is not None
        watchdog.stdin.close()


# --- backup -----------------------------------------------------------------------------------------------------

@dataclass
class Report:
    manifest: dict[str, Any]
    directory: Path
    notes: list[str] = field(default_factory=list)


def backup(data_dir: Path, to: Path, database_url: str | None = None, attachments_dir: Path | None = None) -> Report:
    """Copy the installation on `data_dir` (running or not) into the new directory `to`."""
    if not data_dir.is_dir():
        raise BackupError(f"there is no data dir at {data_dir}")
    url = domain_url(data_dir, database_url)
    temporal_db = data_dir / TEMPORAL_DB
    if not is_postgres(url) and not _sqlite_path(url).is_file():
        raise BackupError(f"the data dir {data_dir} has no database ({_sqlite_path(url)} does not exist)")
    if not url.startswith("sqlite") and not is_postgres(url):
        raise BackupError(f"cannot back up the database {url.split(':', 1)[0]}: only SQLite and PostgreSQL")
    if not temporal_db.is_file():
        raise BackupError(f"the data dir {data_dir} has no Temporal store ({temporal_db} does not exist); a Temporal "
                          "server of its own is backed up by its own procedure")
    attachments = attachments_dir or data_dir / ATTACHMENTS
    if to.exists() and not to.is_dir():
        raise BackupError(f"{to} is a file; back up into a new or empty directory")
    if _non_empty(to):
        raise BackupError(f"{to} is not empty; back up into a new or empty directory")
    if any(to.resolve().is_relative_to(d.resolve()) for d in (data_dir, attachments)):
        raise BackupError(f"{to} is inside the data dir or its attachments; back up into a directory outside them")
    if is_postgres(url) and shutil.which("pg_dump") is None:
        raise BackupError("the database is PostgreSQL and pg_dump is not on PATH")
    with _only_backup(data_dir), _pg_connection(url) as pg:
        created = not to.exists()
        to.mkdir(parents=True, exist_ok=True)
        try:
            to.chmod(0o700)  # it holds the secret key and every document
            return _copy(data_dir, to, url, attachments, pg)
        except BaseException:  # a failed backup leaves no half of one behind
            for child in list(to.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            if created:
                to.rmdir()
            raise


@contextlib.contextmanager
def _only_backup(data_dir: Path) -> Iterator[None]:
    """One backup of a data dir at a time: a second one's SIGCONT would end the first's hold half-way."""
    with open(data_dir / ".backup.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"another backup of {data_dir} is running; wait for it to finish") from None
        yield


@contextlib.contextmanager
def _pg_connection(url: str) -> Iterator[Any]:
    """A connection to the domain database when it is PostgreSQL (made before the hold), else None."""
    if not is_postgres(url):
        yield None
        return
    import psycopg

    try:
        con = psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=30)
    except psycopg.Error as e:
        raise BackupError(f"cannot reach the database: {str(e).strip().splitlines()[0]}") from None
    try:
        yield con
    finally:
        con.close()


def _pg_snapshot(con: Any) -> tuple[str, str | None]:
    """A snapshot of the domain database exported for pg_dump --snapshot, and its alembic revision as of it: the
    transaction that holds it stays open until `con` closes, so the hold need not last as long as pg_dump."""
    con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    snapshot = str(con.execute("SELECT pg_export_snapshot()").fetchone()[0])
    revision = None
    if con.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()[0]:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = str(row[0]) if row else None
    return snapshot, revision


def _copy(data_dir: Path, to: Path, url: str, attachments: Path, pg: Any) -> Report:
    started = _now()
    pids = running_up(data_dir)
    t0 = time.monotonic()
    with held(pids):
        held_at = _now()
        _sqlite_copy(data_dir / TEMPORAL_DB, to / TEMPORAL_DB)  # Temporal first, …
        if pg is not None:  # … the domain second (module docstring): its snapshot, dumped after the hold
            snapshot, revision = _pg_snapshot(pg)
        else:
            _sqlite_copy(_sqlite_path(url), to / DOMAIN_SQLITE)
    hold_ms = round((time.monotonic() - t0) * 1000, 1)
    if pids and hold_ms >= HOLD_WATCHDOG_SECONDS * 1000:
        raise BackupError(f"the copies took {hold_ms / 1000:.0f} s, longer than the hold may last "
                          f"({HOLD_WATCHDOG_SECONDS:.0f} s), so they are not of one instant; try again when less busy")
    if pg is not None:
        dump = subprocess.run(["pg_dump", "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", "-f",
                               str(to / DOMAIN_PGDUMP), libpq_url(url)], capture_output=True, text=True)
        if dump.returncode != 0:
            raise BackupError(f"pg_dump failed: {dump.stderr.strip()}")
    else:
        revision = _alembic_revision_sqlite(to / DOMAIN_SQLITE)
    # Attachments are content-addressed and written before the row that names them commits: copied after the
    # domain's snapshot, every file it names is there.
    if attachments.is_dir():
        shutil.copytree(attachments, to / ATTACHMENTS)
    if (data_dir / SECRET).is_file():
        _copy_private(data_dir / SECRET, to / SECRET)
    files = {}
    for path in sorted(p for p in to.rglob("*") if p.is_file()):
        files[path.relative_to(to).as_posix()] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "started_at": started,
        "snapshot_at": held_at,
        "finished_at": _now(),
        "source_data_dir": str(data_dir.resolve()),
        "held": {"pids": pids, "ms": hold_ms},
        "database": {"kind": "postgresql" if pg is not None else "sqlite",
                     "file": DOMAIN_PGDUMP if pg is not None else DOMAIN_SQLITE,
                     "alembic_revision": revision},
        "temporal": {"file": TEMPORAL_DB},
        "attachments": ATTACHMENTS if attachments.is_dir() else None,
        "versions": _versions(),
        "files": files,
    }
    (to / f".{MANIFEST}.partial").write_text(json.dumps(manifest, indent=2) + "\n")
    (to / f".{MANIFEST}.partial").rename(to / MANIFEST)  # the manifest last, whole: it marks a finished backup
    notes = [] if pids else ["no `valueloop up` runs on this data dir: nothing was held (none needed if stopped)"]
    return Report(manifest, to, notes)


def _copy_private(source: Path, target: Path) -> None:
    """A copy readable by its owner only, from its first byte."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
        shutil.copyfileobj(src, out)
    target.chmod(0o600)


# --- restore ----------------------------------------------------------------------------------------------------

def verify(source: Path) -> dict[str, Any]:
    """The manifest of the backup in `source`, once every file it lists has its size and checksum, it lists every
    file there is, and this version knows the backup's database schema."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} holds no backup ({MANIFEST} is missing)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BackupError(f"{source / MANIFEST} is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise BackupError(f"{source} is a backup of format {got!r}; this version reads {FORMAT}")
    try:
        files: dict[str, dict[str, Any]] = manifest["files"]
        wanted = {name: (int(want["bytes"]), str(want["sha256"])) for name, want in files.items()}
        kind, needed = manifest["database"]["kind"], (manifest["database"]["file"], manifest["temporal"]["file"])
        revision = manifest["database"]["alembic_revision"]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BackupError(f"{source / MANIFEST} is incomplete (no files, database or temporal part)") from None
    if (kind, needed) not in (("sqlite", (DOMAIN_SQLITE, TEMPORAL_DB)), ("postgresql", (DOMAIN_PGDUMP, TEMPORAL_DB))):
        raise BackupError(f"{source / MANIFEST} names a database this version does not restore ({kind!r})")
    for name in needed:
        if name not in wanted:
            raise BackupError(f"the manifest lists no {name}")
    present = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file() or p.is_symlink()}
    present.discard(MANIFEST)
    extra = sorted(present - wanted.keys())
    if extra:
        raise BackupError(f"the backup holds {extra[0]}, which its manifest does not list")
    for name, (size, sha256) in wanted.items():
        path = source / name
        if name not in present or not path.is_file():
            raise BackupError(f"the backup misses {name}")
        if path.stat().st_size != size or _sha256(path) != sha256:
            raise BackupError(f"{name} in the backup is damaged (its size or checksum differs from the manifest)")
    if revision is not None and not _known_revision(str(revision)):
        raise BackupError(f"the backup's database is at schema revision {revision}, which this version of Valueloop "
                          "does not know (a newer version made it); restore it with that version")
    return manifest


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from domain.migrations import config

    try:
        return ScriptDirectory.from_config(config("sqlite://")).get_revision(revision) is not None
    except CommandError:
        return False


def restore(source: Path, data_dir: Path, database_url: str | None = None) -> Report:
    """A new data dir `data_dir` that `up --data-dir data_dir` starts from (with DATABASE_URL=`database_url` when
    the backup's database is PostgreSQL: pg_restore fills that empty database)."""
    manifest = verify(source)
    if data_dir.exists() and not data_dir.is_dir():
        raise BackupError(f"{data_dir} is a file; restore into a new or empty directory")
    if _non_empty(data_dir):
        raise BackupError(f"{data_dir} is not empty; restore into a new or empty directory")
    if data_dir.resolve().is_relative_to(source.resolve()):
        raise BackupError(f"{data_dir} is inside the backup; restore into a directory outside it")
    kind = manifest["database"]["kind"]
    if kind == "postgresql":
        if not database_url or not is_postgres(database_url):
            raise BackupError("the backup's database is PostgreSQL: name the empty target with --database-url")
        if shutil.which("pg_restore") is None:
            raise BackupError("pg_restore is not on PATH")
        if _pg_table_count(database_url):
            raise BackupError("the target database is not empty; restore into an empty one")
    elif database_url:
        raise BackupError("the backup's database is SQLite: it is restored into the data dir, without --database-url")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restoring-", dir=data_dir.parent))
    try:
        shutil.copy2(source / TEMPORAL_DB, work / TEMPORAL_DB)
        if kind == "sqlite":
            shutil.copy2(source / DOMAIN_SQLITE, work / DOMAIN_SQLITE)
        if manifest.get("attachments"):
            shutil.copytree(source / ATTACHMENTS, work / ATTACHMENTS)
        if (source / SECRET).is_file():
            _copy_private(source / SECRET, work / SECRET)
        if kind == "postgresql":
            assert database_url is not None
            out = subprocess.run(["pg_restore", "--exit-on-error", "--single-transaction", "--no-owner",
                                  "--no-privileges", "-d", libpq_url(database_url), str(source / DOMAIN_PGDUMP)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise BackupError(f"pg_restore failed: {out.stderr.strip()}")
        if data_dir.exists():
            data_dir.rmdir()  # empty, checked above
        work.rename(data_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    notes = []
    if kind == "postgresql":
        notes.append(f"start it with: DATABASE_URL={database_url} valueloop up --data-dir {data_dir}")
    else:
        notes.append(f"start it with: valueloop up --data-dir {data_dir}")
    return Report(manifest, data_dir, notes)
