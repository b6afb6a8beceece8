"""Runs the Temporal worker: every workflow and activity of the platform on one task queue."""

from __future__ import annotations

import asyncio
import compileall
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
from activities import all_activities
from domain.db import Database
from settings import Settings, get_settings
from workflows.approval import Approval
from workflows.expense_claim import ExpenseClaim
from workflows.lead_to_order import LeadToOrder
from workflows.order_fulfilment import OrderFulfilment
from workflows.production_order import ProductionOrder
from workflows.purchase import Purchase
from workflows.quotation import Quotation

WORKFLOWS = [Approval, ExpenseClaim, LeadToOrder, OrderFulfilment, ProductionOrder, Purchase, Quotation]
# The sandbox re-imports a workflow's modules for every run, to keep runs apart. Our shared workflow
# modules hold no state (definitions and pure helpers only), so they are passed through: imported once.
RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(
    "workflows.common", "workflows.approval", "pydantic", "pydantic_core"))


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=pydantic_data_converter)


def build_worker(client: Client, db: Database, task_queue: str, threads: int = 32) -> Worker:
    # Temporal's sandbox re-imports the workflow modules for every workflow run: keep their bytecode
    # compiled on disk (even where PYTHONDONTWRITEBYTECODE is set) so that costs no compile.
    compileall.compile_dir(Path(workflows.__file__).parent, quiet=1)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=RUNNER,
        activities=all_activities(db),
        activity_executor=ThreadPoolExecutor(max_workers=threads),
        max_concurrent_activities=threads,
    )


async def main(settings: Settings | None = None) -> None:
    """Run until SIGINT/SIGTERM, then finish the activities in flight and stop."""
    settings = settings or get_settings()
    client = None
    for attempt in range(120):  # the Temporal server may still be starting
        try:
            client = await connect(settings)
            break
        except Exception:
            if attempt == 119:
                raise
            await asyncio.sleep(0.5)
    assert client is not None
    db = Database(settings.database_url)
    worker = build_worker(client, db, settings.task_queue, settings.activity_threads)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def stop() -> None:  # Ctrl-C reaches us and `up` may send SIGTERM too: shut down once
        if not stopping:
            stopping.append(asyncio.ensure_future(worker.shutdown()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await worker.run()
    finally:
        if stopping:
            await stopping[0]
        db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
