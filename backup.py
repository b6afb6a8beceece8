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
would have left, which the platform recovers from (tests/faults).
"""

from __future__ import annotations

import contextlib
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


def _alembic_revision_pg(url: str) -> str | None:
    out = subprocess.run(["psql", "-XAtq", "-d", libpq_url(url), "-c", "SELECT version_num FROM alembic_version"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None if out.returncode == 0 else None


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


def running_up(data_dir: Path) -> list[int]:
    """The pids of the `up` on this data dir (its API) and of its worker; [] when none runs."""
    try:
        pid = int((data_dir / PIDFILE).read_text().strip())
    except (OSError, ValueError):
        return []
    cmd = _cmdline(pid)
    if b"up" not in cmd or not any(b"cli" in a or b"valueloop" in a for a in cmd):
        return []  # a stale pid file (up was killed) whose pid now names something else
    return [pid, *(c for c in _children(pid) if b"worker" in _cmdline(c))]


@contextlib.contextmanager
def held(pids: list[int]) -> Iterator[None]:
    """`pids` stopped (SIGSTOP) for the block. A watchdog in a session of its own continues them after
    HOLD_WATCHDOG_SECONDS should this process die inside the block."""
    if not pids:
        yield
        return
    script = ("import os, signal, sys, time\n"
              "time.sleep(float(sys.argv[1]))\n"
              "for p in sys.argv[2:]:\n"
              "    try: os.kill(int(p), signal.SIGCONT)\n"
              "    except OSError: pass\n")
    watchdog = subprocess.Popen([sys.executable, "-c", script, str(HOLD_WATCHDOG_SECONDS), *map(str, pids)],
                                start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    stopped: list[int] = []
    try:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        watchdog.kill()
        watchdog.wait()


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
    if _non_empty(to):
        raise BackupError(f"{to} is not empty; back up into a new or empty directory")
    if is_postgres(url) and shutil.which("pg_dump") is None:
        raise BackupError("the database is PostgreSQL and pg_dump is not on PATH")
    attachments = attachments_dir or data_dir / ATTACHMENTS
    to.mkdir(parents=True, exist_ok=True)
    to.chmod(0o700)  # it holds the secret key and every document
    started = _now()
    pids = running_up(data_dir)
    t0 = time.monotonic()
    with held(pids):
        held_at = _now()
        _sqlite_copy(temporal_db, to / TEMPORAL_DB)  # Temporal first, …
        if is_postgres(url):  # … the domain second (module docstring)
            dump = subprocess.run(["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(to / DOMAIN_PGDUMP),
                                   libpq_url(url)], capture_output=True, text=True)
            if dump.returncode != 0:
                raise BackupError(f"pg_dump failed: {dump.stderr.strip()}")
        else:
            _sqlite_copy(_sqlite_path(url), to / DOMAIN_SQLITE)
    hold_ms = round((time.monotonic() - t0) * 1000, 1)
    # Attachments are content-addressed and written before the row that names them commits: copied after the
    # domain's snapshot, every file it names is there.
    if attachments.is_dir():
        shutil.copytree(attachments, to / ATTACHMENTS)
    if (data_dir / SECRET).is_file():
        shutil.copy2(data_dir / SECRET, to / SECRET)
        (to / SECRET).chmod(0o600)
    files = {}
    for path in sorted(p for p in to.rglob("*") if p.is_file()):
        files[path.relative_to(to).as_posix()] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    revision = _alembic_revision_pg(url) if is_postgres(url) else _alembic_revision_sqlite(to / DOMAIN_SQLITE)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "started_at": started,
        "snapshot_at": held_at,
        "finished_at": _now(),
        "source_data_dir": str(data_dir.resolve()),
        "held": {"pids": pids, "ms": hold_ms},
        "database": {"kind": "postgresql" if is_postgres(url) else "sqlite",
                     "file": DOMAIN_PGDUMP if is_postgres(url) else DOMAIN_SQLITE,
                     "alembic_revision": revision},
        "temporal": {"file": TEMPORAL_DB},
        "attachments": ATTACHMENTS if attachments.is_dir() else None,
        "versions": _versions(),
        "files": files,
    }
    (to / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    notes = [] if pids else ["no `valueloop up` runs on this data dir: nothing was held (none needed if stopped)"]
    return Report(manifest, to, notes)


# --- restore ----------------------------------------------------------------------------------------------------

def verify(source: Path) -> dict[str, Any]:
    """The manifest of the backup in `source`, once every file it lists has its size and checksum."""
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} holds no backup ({MANIFEST} is missing)") from None
    except json.JSONDecodeError as e:
        raise BackupError(f"{source / MANIFEST} is not valid JSON ({e})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')!r}; this version reads {FORMAT}")
    for name, want in manifest["files"].items():
        path = source / name
        if not path.is_file():
            raise BackupError(f"the backup misses {name}")
        if path.stat().st_size != want["bytes"] or _sha256(path) != want["sha256"]:
            raise BackupError(f"{name} in the backup is damaged (its size or checksum differs from the manifest)")
    for needed in (manifest["database"]["file"], manifest["temporal"]["file"]):
        if needed not in manifest["files"]:
            raise BackupError(f"the manifest lists no {needed}")
    return manifest


def restore(source: Path, data_dir: Path, database_url: str | None = None) -> Report:
    """A new data dir `data_dir` that `up --data-dir data_dir` starts from (with DATABASE_URL=`database_url` when
    the backup's database is PostgreSQL: pg_restore fills that empty database)."""
    manifest = verify(source)
    if _non_empty(data_dir):
        raise BackupError(f"{data_dir} is not empty; restore into a new or empty directory")
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
            shutil.copy2(source / SECRET, work / SECRET)
            (work / SECRET).chmod(0o600)
        if kind == "postgresql":
            assert database_url is not None
            out = subprocess.run(["pg_restore", "--exit-on-error", "--no-owner", "--no-privileges", "-d",
                                  libpq_url(database_url), str(source / DOMAIN_PGDUMP)], capture_output=True, text=True)
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
