"""Platform.glance: on SQLite a short read by index runs on the event loop's thread, on connections of its own, so
it answers while reads on the pool's threads hold every read connection; on PostgreSQL it is an ordinary read."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import text
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
