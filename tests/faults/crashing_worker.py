"""A test-only worker that dies mid-activity: the real worker (worker.build_worker) with ONE activity wrapped
so that, once the real activity has committed its effect, it writes a marker file and never answers. The test
waits for the marker and kills this process with SIGKILL: the effect is in the database, Temporal never heard of
it, and the activity is dispatched again (to another worker) when its start-to-close timeout expires.

Usage: python -m tests.faults.crashing_worker (configured by the environment, see `main`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

import activities
import workflows.common
from domain.core.db import Database


def crashing(fn: Any, name: str, match: str, marker: Path) -> Any:
    """`fn` (a bound activity) that, on the first call whose arguments' repr contains `match`, commits its
    effect, leaves `marker` and then hangs: the reply never reaches Temporal."""
    defn = getattr(fn, "__temporal_activity_definition")

    def wrapper(*args: Any) -> Any:
        result = fn(*args)
        if match in repr(args) and not marker.exists():
            tmp = marker.with_suffix(".tmp")
            tmp.write_text(json.dumps({"activity": name, "attempt": activity.info().attempt,
                                       "workflow_id": activity.info().workflow_id, "args": repr(args)}))
            tmp.rename(marker)
            while True:  # committed, never answered: the test kills us here
                time.sleep(1)
        return result

    wrapper.__name__ = name
    setattr(wrapper, "__temporal_activity_definition", defn)
    return wrapper


def ready(marker: Path) -> None:
    Path(str(marker) + ".ready").touch()


async def main() -> None:
    env = os.environ
    timeout = env.get("FAULT_ACTIVITY_TIMEOUT")
    if timeout:  # test-only: the house start-to-close timeout (30 s) shortened, so the retry comes sooner
        workflows.common.ACTIVITY_TIMEOUT = timedelta(seconds=float(timeout))
    name, match, marker = env["FAULT_ACTIVITY"], env.get("FAULT_MATCH", ""), Path(env["FAULT_MARKER"])
    db = Database(env["FAULT_DATABASE_URL"], schema=env.get("FAULT_DB_SCHEMA") or None)
    real_all = activities.all_activities

    def patched_all(database: Any, *args: Any, **kwargs: Any) -> list[Any]:  # (db, settings) as worker passes them
        out = real_all(database, *args, **kwargs)
        names = [getattr(a, "__temporal_activity_definition").name for a in out]
        assert name in names, f"no activity {name}"
        return [crashing(a, name, match, marker) if n == name else a for a, n in zip(out, names, strict=True)]

    import worker  # build_worker calls worker.all_activities: the real worker, one activity wrapped

    worker.all_activities = patched_all  # type: ignore[assignment]
    client = await Client.connect(env["FAULT_TEMPORAL"], namespace=env.get("FAULT_NAMESPACE", "default"),
                                  data_converter=pydantic_data_converter)
    w = worker.build_worker(client, db, env["FAULT_TASK_QUEUE"], threads=4)
    ready(marker)
    await w.run()


if __name__ == "__main__":
    asyncio.run(main())
