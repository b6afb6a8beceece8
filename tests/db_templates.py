"""Databases the test session makes once and copies into each test's own: the empty SQLite file with every table, and
the demo company (a SQLite file, or a PostgreSQL schema) of the day. Copying the demo company's rows takes a few
milliseconds where loading it through the services takes a third of a second, and some 700 tests a run need it.

A copy is what `demo.load` would have made: the same rows and the same next ids. It is used only on a database that
is still empty (else the test's database gets `demo.load` as before), and the demo is made again when the day
changes during the session (it dates its leave balances, invoices and exchange rates from today)."""

from __future__ import annotations

import importlib
import shutil
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.pool import Pool

from domain import demo
from domain.core.db import Base, Database


def table_names() -> list[str]:
    """Every table, parents before children."""
    importlib.import_module("domain.tables")
    return [t.name for t in Base.metadata.sorted_tables]


def sqlite_path(db: Database) -> Path:
    return Path(db.url.split("///", 1)[1])


def is_empty(db: Database) -> bool:
    """No table holds a row (one query). A database whose tables are not all there is not empty."""
    probe = " OR ".join(f'EXISTS (SELECT 1 FROM "{t}")' for t in table_names())
    try:
        with db.read_engine.connect() as c:
            return not c.exec_driver_sql(f"SELECT {probe}").scalar_one()
    except Exception:
        return False


@dataclass
class _PgDemo:
    schema: str
    tables: list[str]  # those holding rows, parents first
    sequences: list[tuple[str, int]]  # (name, last value) of those used

    def copy_sql(self, into: str) -> str:
        return ";\n".join(
            [f'INSERT INTO "{into}"."{t}" SELECT * FROM "{self.schema}"."{t}"' for t in self.tables]
            + [f"SELECT setval('\"{into}\".\"{name}\"', {last})" for name, last in self.sequences])


@dataclass
class Templates:
    """The session's templates, made on first use; `drop()` removes the PostgreSQL ones."""

    folder: Path
    pg_url: str = ""
    admin: Engine | None = None  # AUTOCOMMIT engine on the PostgreSQL database, for CREATE/DROP SCHEMA
    schema_ddl: str = ""  # what create_all emits on PostgreSQL
    schemas: SchemaPool | None = None  # PostgreSQL: the test schemas, reused
    _empty: Path | None = None
    _sqlite_demo: dict[date, Path] = field(default_factory=dict)
    _pg_demo: dict[date, _PgDemo] = field(default_factory=dict)

    def sqlite_empty(self) -> Path:
        """A SQLite file (WAL mode, checkpointed) with every table and no row."""
        if self._empty is None:
            path = self.folder / "empty.db"
            db = Database(f"sqlite:///{path}")
            db.create_all()
            self._checkpoint(db)
            self._empty = path
        return self._empty

    def copy_demo(self, db: Database) -> bool:
        """Fill the empty `db` with the demo company; False (nothing done) when `db` is not empty."""
        if not is_empty(db):
            return False
        day = demo.utcnow().date()
        if db.is_sqlite:
            if day not in self._sqlite_demo:
                path = self.folder / f"demo-{day}.db"
                shutil.copyfile(self.sqlite_empty(), path)
                made = Database(f"sqlite:///{path}")
                with made.write() as s:
                    demo.load(s)
                self._checkpoint(made)
                self._sqlite_demo[day] = path
            db.dispose()  # no connection of the test's database open while its pages are replaced
            src, dst = sqlite3.connect(self._sqlite_demo[day]), sqlite3.connect(sqlite_path(db))
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        else:
            if day not in self._pg_demo:
                self._pg_demo[day] = self._make_pg_demo()
            assert db.schema
            with db.write_engine.begin() as c:
                c.exec_driver_sql(self._pg_demo[day].copy_sql(db.schema))
        return True

    def _make_pg_demo(self) -> _PgDemo:
        assert self.admin is not None
        schema = f"test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        made = Database(self.pg_url, schema=schema)
        try:
            with made.write_engine.begin() as c:
                c.exec_driver_sql(self.schema_ddl)
            with made.write() as s:
                demo.load(s)
            with made.write_engine.connect() as c:
                full = [t for t in table_names() if c.exec_driver_sql(f'SELECT EXISTS (SELECT 1 FROM "{t}")').scalar()]
                sequences = [(str(n), int(v)) for n, v in c.execute(text(
                    "SELECT sequencename, last_value FROM pg_sequences "
                    "WHERE schemaname = :s AND last_value IS NOT NULL"), {"s": schema})]
        finally:
            made.dispose()
        return _PgDemo(schema, full, sequences)

    @staticmethod
    def _checkpoint(db: Database) -> None:
        """Every page in the file itself (the write-ahead log emptied), so that a copy of the file is the database."""
        db.dispose()
        c = sqlite3.connect(sqlite_path(db), isolation_level=None)
        try:
            busy, _, _ = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert not busy, "the template is still in use"
        finally:
            c.close()

    def __post_init__(self) -> None:
        if self.admin is not None:
            self.schemas = SchemaPool(self.admin, self.pg_url, self.schema_ddl)

    def drop(self) -> None:
        if self.admin is None:
            return
        if self.schemas is not None:
            self.schemas.drop()
        with self.admin.connect() as c:
            for made in self._pg_demo.values():
                c.execute(text(f'DROP SCHEMA IF EXISTS "{made.schema}" CASCADE'))
        self._pg_demo.clear()


_SHAPE = """
SELECT 'r ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(string_agg(a.attname || ' '
       || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' '
       || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum), '')
FROM pg_class c
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relnamespace = :s ::regnamespace GROUP BY c.relname, c.relkind
UNION ALL SELECT 'c ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = :s ::regnamespace
UNION ALL SELECT 'i ' || indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) FROM pg_index
  WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = :s ::regnamespace)
UNION ALL SELECT 't ' || typname FROM pg_type WHERE typnamespace = :s ::regnamespace
UNION ALL SELECT 'p ' || proname FROM pg_proc WHERE pronamespace = :s ::regnamespace
UNION ALL SELECT 'g ' || tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = :s ::regnamespace)
"""


@dataclass
class SchemaPool:
    """PostgreSQL schemas with every table, emptied after a test and handed to a later one under a new name, instead
    of one CREATE SCHEMA and 83 CREATE TABLEs a test (0.2 s on an idle machine, seconds on a loaded one) and a DROP.

    A schema goes back to the pool only when it has exactly the shape create_all gave it (a test that changed its
    tables, as the migration tests do, gets it dropped as before), after every session named for it was ended, and
    renamed first: a straggling thread of the old test reconnecting finds no schema, as it would after a DROP. Each
    table is emptied (DELETE, children first) and each sequence set back to its start."""

    admin: Engine
    pg_url: str
    schema_ddl: str
    free: list[str] = field(default_factory=list)
    _shape: list[str] | None = None

    def take(self) -> Database:
        """An empty schema with every table, under a name of its own."""
        schema = f"test_{uuid.uuid4().hex[:12]}"
        if self.free:
            with self.admin.connect() as c:
                c.execute(text(f'ALTER SCHEMA "{self.free.pop()}" RENAME TO "{schema}"'))
            return Database(self.pg_url, schema=schema)
        with self.admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        db = Database(self.pg_url, schema=schema)
        with db.write_engine.begin() as c:  # what db.create_all() makes, in one round trip
            c.exec_driver_sql(self.schema_ddl)
        if self._shape is None:
            with self.admin.connect() as c:
                self._shape = self.shape(c, schema)
        return db

    @staticmethod
    def shape(c: object, schema: str) -> list[str]:
        rows = c.execute(text(_SHAPE), {"s": f'"{schema}"'}).scalars()  # type: ignore[attr-defined]
        return sorted(str(r).replace(f'"{schema}".', "").replace(f"{schema}.", "") for r in rows)

    def give_back(self, db: Database) -> None:
        """End the test's sessions; keep the schema for another test when it can be emptied, else drop it."""
        schema = db.schema
        assert schema
        db.dispose()
        with self.admin.connect() as c:
            # A session the test left behind (a worker's thread activity cancelled at its shutdown can leave
            # its connection in a transaction) would hold a lock the DROP waits for, forever.
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name = :app AND pid <> pg_backend_pid()"),
                      {"app": f"valueloop {schema}"[:63]})
            kept = f"test_{uuid.uuid4().hex[:12]}"
            try:
                c.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{kept}"'))
            except Exception:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                return
            try:
                if self._shape is None or self.shape(c, kept) != self._shape:
                    raise LookupError("its tables changed")
                c.exec_driver_sql(";\n".join(  # one implicit transaction: all or nothing
                    [f'DELETE FROM "{kept}"."{t}"' for t in reversed(table_names())]
                    + [f"SELECT setval(c.oid, s.seqstart, false) FROM pg_class c JOIN pg_sequence s "
                       f"ON s.seqrelid = c.oid WHERE c.relnamespace = '\"{kept}\"'::regnamespace"]))
            except Exception:
                c.execute(text(f'DROP SCHEMA "{kept}" CASCADE'))
                return
        self.free.append(kept)

    def drop(self) -> None:
        with self.admin.connect() as c:
            for schema in self.free:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.free.clear()


def commits_without_flush() -> None:
    """Every PostgreSQL session the tests open (in this process) commits without waiting for the write-ahead log to
    reach the disk (`synchronous_commit = off`), as SQLite does in the tests (WAL, synchronous=NORMAL): what a commit
    makes visible, and when, is unchanged; only a crash of the server could lose the last commits. A write transaction
    takes 0.9 ms instead of 7 ms here."""

    @event.listens_for(Pool, "connect")
    def _no_flush(dbapi_conn: Any, _record: Any) -> None:
        if type(dbapi_conn).__module__.startswith("psycopg"):
            with dbapi_conn.cursor() as cur:
                cur.execute("SET synchronous_commit TO off")
            dbapi_conn.commit()
