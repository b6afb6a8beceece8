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

from sqlalchemy import Engine, text

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

    def drop(self) -> None:
        if self.admin is None:
            return
        with self.admin.connect() as c:
            for made in self._pg_demo.values():
                c.execute(text(f'DROP SCHEMA IF EXISTS "{made.schema}" CASCADE'))
        self._pg_demo.clear()
