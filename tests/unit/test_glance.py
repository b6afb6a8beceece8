"""Platform.glance: on SQLite a short read by index runs on the event loop's thread, on connections of its own, so
it answers while reads on the pool's threads hold every read connection; on PostgreSQL it is an ordinary read."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.platform import Platform
from domain.core.db import Database


async def test_a_glance_answers_while_the_pools_reads_hold_every_connection(db: Database) -> None:
    platform = Platform(None, db, "unit")  # type: ignore[arg-type]  # only its reads
    release = threading.Event()
    holding = 0
    lock = threading.Lock()

    def hold(s: Session) -> int:
        nonlocal holding
        value = int(s.execute(text("SELECT 1")).scalar_one())  # the session now holds a connection
        with lock:
            holding += 1
        release.wait(10)
        return value

    size = db.read_engine.pool.size() + db.read_engine.pool._max_overflow  # type: ignore[attr-defined]
    readers = [asyncio.ensure_future(platform.read(hold)) for _ in range(size if db.is_sqlite else 4)]
    for _ in range(200):
        if holding == len(readers):
            break
        await asyncio.sleep(0.01)
    t0 = time.monotonic()
    if db.is_sqlite:  # every read connection is held: a glance still answers at once, on its own
        assert await platform.glance(lambda s: int(s.execute(text("SELECT 2")).scalar_one())) == 2
        assert time.monotonic() - t0 < 1.0
    release.set()
    assert await asyncio.gather(*readers) == [1] * len(readers)
    # on either database a glance reads what is committed
    assert await platform.glance(lambda s: int(s.execute(text("SELECT 3")).scalar_one())) == 3


async def test_a_glance_runs_on_the_loops_thread_on_sqlite_and_on_the_pool_otherwise(db: Database) -> None:
    platform = Platform(None, db, "unit")  # type: ignore[arg-type]  # only its reads
    where = await platform.glance(lambda s: threading.current_thread())
    assert (where is threading.current_thread()) == db.is_sqlite


async def test_peeks_keep_their_connection_and_each_sees_what_was_committed_before_it(db: Database) -> None:
    """A peek's connection stays open for the next (SQLite), yet each peek is a snapshot of its own: a commit made
    between two peeks is seen by the second."""
    platform = Platform(None, db, "unit")  # type: ignore[arg-type]  # only its reads
    with db.write() as s:
        s.execute(text("CREATE TABLE peeked (v INTEGER)"))
        s.execute(text("INSERT INTO peeked VALUES (1)"))

    def read(c: Connection) -> tuple[int, int]:
        return id(c.connection.dbapi_connection), int(c.execute(text("SELECT max(v) FROM peeked")).scalar_one())

    first, one = await platform.peek(read)
    with db.write() as s:
        s.execute(text("INSERT INTO peeked VALUES (2)"))
    second, two = await platform.peek(read)
    assert (one, two) == (1, 2)
    if db.is_sqlite:
        assert first == second  # kept, not checked out of a pool again
        assert db.glance_engine.pool.checkedout() == 1  # type: ignore[attr-defined]  # the kept one


def test_a_failed_peek_ends_its_snapshot_and_its_connection_serves_the_next(db: Database) -> None:
    with pytest.raises(ZeroDivisionError), db.peek() as c:
        c.execute(text("SELECT 1")).scalar_one()
        raise ZeroDivisionError
    with db.peek() as c:
        assert c.execute(text("SELECT 2")).scalar_one() == 2
        assert c.in_transaction()
    with db.glance() as s:  # a glance is a session on a peek's connection
        assert s.execute(text("SELECT 3")).scalar_one() == 3
    if db.is_sqlite:
        assert len(db._idle) == 1 and not db._idle[0].in_transaction()


def test_threads_peeking_at_the_same_moment_each_have_a_connection(db: Database) -> None:
    inside = threading.Barrier(3)
    seen: list[int] = []

    def peek() -> None:
        with db.peek() as c:
            seen.append(id(c))
            inside.wait(5)  # all three are inside their peek at once

    threads = [threading.Thread(target=peek) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(set(seen)) == 3
    if db.is_sqlite:
        assert len(db._idle) == 3  # each went back to be kept
