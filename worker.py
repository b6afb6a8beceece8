"""Runs the Temporal worker: every workflow and activity of the platform on one task queue."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities import all_activities
from domain.db import Database
from settings import Settings, get_settings
from workflows.approval import Approval
from workflows.expense_claim import ExpenseClaim
from workflows.purchase import Purchase

WORKFLOWS = [Approval, ExpenseClaim, Purchase]


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=pydantic_data_converter)


def build_worker(client: Client, db: Database, task_queue: str, threads: int = 32) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=all_activities(db),
        activity_executor=ThreadPoolExecutor(max_workers=threads),
        max_concurrent_activities=threads,
    )


async def main(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    client = await connect(settings)
    db = Database(settings.database_url)
    worker = build_worker(client, db, settings.task_queue, settings.activity_threads)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
