"""Engine, session factory and unit of work. SQLite by default, PostgreSQL by URL.

Writers serialize where they must: on SQLite every write transaction starts with
`BEGIN IMMEDIATE` (one writer at a time, readers never blocked thanks to WAL); on
PostgreSQL the services lock the rows they change with `SELECT ... FOR UPDATE`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, immediate: bool = False, schema: str | None = None, **kw: Any) -> Engine:
    """An engine for `url`. `schema` (PostgreSQL only) sets the search_path, for per-test schemas."""
    if _is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, **kw)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
        connect_args["application_name"] = f"valueloop {schema}"[:63]  # its sessions, found by name
    kw.setdefault("pool_size", 20)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    return create_engine(url, connect_args=connect_args, **kw)


@dataclass
class Database:
    """Two session factories over one database: `write()` serializes writers, `read()` never blocks."""

    url: str
    schema: str | None = None

    def __post_init__(self) -> None:
        self.write_engine = make_engine(self.url, immediate=True, schema=self.schema)
        # A read sees one snapshot of the database, as a SQLite read transaction does: on PostgreSQL that is
        # REPEATABLE READ (read committed would let two statements of one read see different commits, e.g.
        # an order's lines before a reservation and the stock after it). Same pool as the writers.
        self.read_engine = (
            make_engine(self.url, immediate=False, schema=self.schema)
            if _is_sqlite(self.url)
            else self.write_engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite: the short reads an event loop's thread runs itself (api.platform.Platform.glance) have connections
        # of their own, so that reads on the pool's threads holding every read connection never make the loop wait.
        self.glance_engine = (make_engine(self.url, immediate=False, pool_size=2, max_overflow=8)
                              if _is_sqlite(self.url) else self.read_engine)
        # ...kept open between glances (one per thread glancing at the same moment): a glance then costs its
        # statements, not a pool checkout, a session and two rollbacks besides (3x the cost of a read by key).
        self._idle: list[Connection] = []

    @property
    def is_sqlite(self) -> bool:
        return _is_sqlite(self.url)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends normally, rolled back otherwise."""
        session = self._write()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:  # closed at the end: ends the transaction; loaded objects stay readable
            yield session

    @contextmanager
    def peek(self) -> Iterator[Connection]:
        """A short read by index, in Core (statements, rows; no ORM objects): one snapshot of the database, ended
        with the block. SQLite: on a connection of the glances' own, kept open (an event loop's thread reads here);
        PostgreSQL: a read connection of the pool, as `read`."""
        if not self.is_sqlite:
            with self.read_engine.connect() as conn, conn.begin():
                yield conn
            return
        try:
            conn = self._idle.pop()  # list.pop/append are atomic: threads peeking at once each get their own
        except IndexError:
            conn = self.glance_engine.connect()
        try:
            with conn.begin():
                yield conn
        finally:
            if conn.invalidated:
                conn.close()
            else:
                self._idle.append(conn)

    @contextmanager
    def glance(self) -> Iterator[Session]:
        """`peek` with ORM objects: a session on the peek's connection and snapshot."""
        with self.peek() as conn, Session(bind=conn, expire_on_commit=False) as session:
            yield session

    def create_all(self) -> None:
        # Every context's tables register on Base.metadata when domain.tables is imported; it is named at run time
        # because the shared kernel sits below the contexts it serves (the import contracts keep it there).
        importlib.import_module("domain.tables")

        Base.metadata.create_all(self.write_engine)

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.is_sqlite:  # on PostgreSQL the read engine shares the writers' pool
            self.read_engine.dispose()
            while self._idle:
                self._idle.pop().close()
            self.glance_engine.dispose()
