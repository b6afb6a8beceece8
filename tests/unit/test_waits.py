"""api.waits: the long polls' re-checks are batched, one read per tick for every request waiting alike, and a
waiter wakes when its key is ready or gives up at its deadline. (The checks themselves, on real tasks and
claims: tests/e2e/test_access_and_concurrency.py's long polls.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy.orm import Session

from api import waits
from api.platform import Platform
from domain.core.db import Database


async def test_one_read_per_tick_wakes_only_the_keys_that_are_ready(db: Database) -> None:
    platform = Platform(None, db, "unit")  # type: ignore[arg-type]  # only its read
    ready: set[str] = set()
    asked: list[frozenset[str]] = []

    def check(_s: Session, keys: frozenset[Any]) -> set[Any]:
        asked.append(keys)
        return set(keys & ready)

    async def later() -> None:
        await asyncio.sleep(0.2)
        ready.add("a")

    t0 = time.monotonic()
    woke = await asyncio.gather(*(waits.until(platform, check, "a", 5) for _ in range(10)),
                                waits.until(platform, check, "b", 0.5), later())
    assert woke[:11] == [True] * 10 + [False]  # the ten on "a" as soon as it was there; "b" at its deadline
    assert time.monotonic() - t0 < 1.5
    assert all(keys <= {"a", "b"} for keys in asked)
    # sixteen waiters for ~0.5 s: about one read per tick (0.05 s), not one per waiter per re-check
    assert len(asked) <= 0.6 / waits.TICK + 2
    await asyncio.sleep(waits.TICK * 3)
    n = len(asked)
    await asyncio.sleep(waits.TICK * 3)
    assert len(asked) == n  # nobody waits: nothing is read

