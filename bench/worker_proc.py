"""A worker process for the benchmark, as `valueloop up` runs one: `python -m bench.worker_proc ours|skeleton
ADDRESS TASK_QUEUE [DATABASE_URL]`. Stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter


async def main(kind: str, address: str, task_queue: str, database_url: str = "") -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    if kind == "ours":
        from domain.core.db import Database
        from worker import build_worker

        worker = build_worker(client, Database(database_url), task_queue)
    else:
        from bench.skeleton import build_skeleton_worker

        worker = build_skeleton_worker(client, task_queue)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(worker.shutdown()))
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
