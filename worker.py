"""Runs the Temporal worker: every workflow and activity of the platform on one task queue.

Scaling out means more worker processes on that same queue (Temporal spreads the tasks among the
pollers); `max_concurrent_activities` / `max_concurrent_workflow_tasks` bound one worker's share.
With `area_queues` on, each area's processes run on a queue of their own and the process runs one
worker per area it polls (`worker_areas`), all on one client, one database and one activity thread pool.
`metrics_bind_address` serves the SDK's metrics in Prometheus format; `otel_endpoint` traces workflow
starts, workflow runs and activities with OpenTelemetry (OTLP/HTTP).
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import workflows
from activities import all_activities
from domain.core.db import Database
from settings import Settings, get_settings
from workflows.approval import Approval
from workflows.change_approval import ChangeApproval
from workflows.common import area_queue
from workflows.customer_invoice import CustomerInvoice
from workflows.expense_claim import ExpenseClaim
from workflows.form_request import FormRequest
from workflows.inspection import Inspection
from workflows.lead_to_order import LeadToOrder
from workflows.mrp_release import MrpRelease
from workflows.notify import Notify, NotifyDigest
from workflows.order_fulfilment import OrderFulfilment
from workflows.payment import Payment
from workflows.period_close import PeriodClose
from workflows.production_order import ProductionOrder
from workflows.purchase import Purchase
from workflows.purchase_return import PurchaseReturn
from workflows.quotation import Quotation
from workflows.sales_return import SalesReturn
from workflows.supplier_invoice import SupplierInvoice

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

WORKFLOWS = [Approval, ExpenseClaim, LeadToOrder, OrderFulfilment, ProductionOrder, Purchase, Quotation, SupplierInvoice,
             Payment, PeriodClose, CustomerInvoice, SalesReturn, PurchaseReturn, ChangeApproval, FormRequest,
             Notify, NotifyDigest, MrpRelease, Inspection]
# Workflows run without Temporal's sandbox. The sandbox re-imports a workflow's modules for every run, to keep runs
# apart; re-imported, ours (a quotation's pull in fulfilment, production, purchase, invoices…) cost a fifth of the
# worker's CPU in the 1,000-process soak (docs/perf/before-worker-soak.svg), so the whole package was passed
# through it, imported once. Passed through, our code is no longer watched by the sandbox's proxies, and what the
# sandbox still did was its own cost: it runs code in the sandbox for every payload of every activation and
# completion to find the payload's serialization context (temporalio 1.35: a fifth of our worker's CPU under
# the engine-floor bench, py-spy), for nothing of ours. The guards are ours instead:
# tests/unit/test_worker_sandbox.py keeps every workflow module free of module-level state a run could change
# and of the host's clock, randomness, I/O and environment (the rule stays workflow.now()/workflow.uuid4()), and
# tests/workflows/test_replay.py replays the recorded histories.
RUNNER = UnsandboxedWorkflowRunner()


# One of each per process: a Runtime binds its metrics port, a tracer provider owns its exporter thread.
_runtimes: dict[str, Runtime] = {}
_tracer_providers: dict[tuple[str, str], TracerProvider] = {}


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving the SDK's metrics on `metrics_bind_address`; None when unset."""
    address = settings.metrics_bind_address
    if not address:
        return None
    if address not in _runtimes:
        _runtimes[address] = Runtime(telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=address, durations_as_seconds=True),
            global_tags={"service": settings.otel_service_name}))
    return _runtimes[address]


def tracer_provider(settings: Settings) -> TracerProvider:
    """An OpenTelemetry tracer provider exporting in batches to `otel_endpoint` by OTLP/HTTP."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    key = (settings.otel_endpoint, settings.otel_service_name)
    if key not in _tracer_providers:
        provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
        endpoint = settings.otel_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        _tracer_providers[key] = provider
    return _tracer_providers[key]


def shutdown_tracing() -> None:
    """Send the spans still buffered; at the end of a process that traced."""
    for provider in _tracer_providers.values():
        provider.shutdown()
    _tracer_providers.clear()


def interceptors(settings: Settings, provider: TracerProvider | None = None) -> list[Interceptor]:
    """The client interceptors: OpenTelemetry tracing when `otel_endpoint` is set (or a `provider` is
    given). A client interceptor that is also a worker interceptor, as this one is, is used by every
    worker built on that client: workflow and activity spans continue the trace of the start."""
    if provider is None and not settings.otel_endpoint:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    provider = provider or tracer_provider(settings)
    return [TracingInterceptor(provider.get_tracer("valueloop"))]


async def connect(settings: Settings, sdk_metrics: bool = False) -> Client:
    """A client for `settings`; `sdk_metrics`: on the runtime serving Prometheus metrics (the worker
    process asks for it; API replicas serve their own /metrics)."""
    runtime = metrics_runtime(settings) if sdk_metrics else None
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=pydantic_data_converter, interceptors=interceptors(settings),
                                runtime=runtime)


def build_worker(client: Client, db: Database, task_queue: str, threads: int = 32,
                 max_concurrent_activities: int = 0, max_concurrent_workflow_tasks: int = 0,
                 activity_executor: ThreadPoolExecutor | None = None, settings: Settings | None = None) -> Worker:
    """A worker polling `task_queue` for every workflow and activity. Activities are synchronous (SQL) and
    run on a pool of `threads`, grown to `max_concurrent_activities` when that is larger (0: `threads`),
    or on `activity_executor` when given (shared by several workers); `max_concurrent_workflow_tasks`
    0 keeps the SDK's default."""
    # Temporal's sandbox re-imports the workflow modules for every workflow run: keep their bytecode
    # compiled on disk (even where PYTHONDONTWRITEBYTECODE is set) so that costs no compile.
    compileall.compile_dir(Path(workflows.__file__).parent, quiet=1)
    activities = max_concurrent_activities or threads
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=RUNNER,
        activities=all_activities(db, settings),
        activity_executor=activity_executor or ThreadPoolExecutor(max_workers=max(threads, activities)),
        max_concurrent_activities=activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks or None,
    )


def worker_queues(settings: Settings) -> list[str]:
    """The task queues a worker of `settings` polls: `task_queue`, or with `area_queues` on the queue of
    each area of `worker_areas`."""
    if not settings.area_queues:
        return [settings.task_queue]
    return [area_queue(settings.task_queue, area) for area in settings.polled_areas]


def workers_from_settings(client: Client, db: Database, settings: Settings) -> list[Worker]:
    """The workers `valueloop worker` runs: one per queue of `worker_queues`, tuning from the settings.
    Several (area queues) share one activity thread pool: it bounds the process's database work, while
    each may take up to `max_concurrent_activities`, so a busy area can use the whole pool."""
    queues = worker_queues(settings)
    activities = settings.max_concurrent_activities or settings.activity_threads
    shared = ThreadPoolExecutor(max_workers=max(settings.activity_threads, activities)) if len(queues) > 1 else None
    return [build_worker(client, db, queue, settings.activity_threads,
                         max_concurrent_activities=settings.max_concurrent_activities,
                         max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
                         activity_executor=shared, settings=settings)
            for queue in queues]


def worker_from_settings(client: Client, db: Database, settings: Settings) -> Worker:
    """The one worker on `task_queue` (area queues off), queue and tuning from the settings."""
    if settings.area_queues:
        raise ValueError("with area_queues on there is a worker per area queue: use workers_from_settings")
    [worker] = workers_from_settings(client, db, settings)
    return worker


async def run_workers(workers: list[Worker]) -> None:
    """Run the workers until all have stopped; one failing shuts the others down, then raises."""
    runs = [asyncio.ensure_future(w.run()) for w in workers]
    try:
        done, _ = await asyncio.wait(runs, return_when=asyncio.FIRST_EXCEPTION)
        failed = [t for t in done if not t.cancelled() and t.exception() is not None]
        if failed:
            await asyncio.gather(*(w.shutdown() for w, t in zip(workers, runs, strict=True) if not t.done()),
                                 return_exceptions=True)
            first = failed[0].exception()
            assert first is not None  # kept above only where there is one
            raise first
    finally:
        for t in runs:  # cancelled from outside (a test, `serve`): the SDK's run() shuts its worker down
            t.cancel()
        await asyncio.gather(*runs, return_exceptions=True)


async def refresh_grants(db: Database, every: float = 5.0) -> None:
    """Keep this process's permissions (domain.permissions, read by Update validators) as admin stored them:
    a cheap version check every few seconds, a reload when it changed."""
    from domain.org import grants

    def refresh() -> None:
        with db.read() as s:
            grants.refresh(s)

    while True:
        # The database may be away for a moment: keep the grants in effect and try again.
        with contextlib.suppress(Exception):
            await asyncio.to_thread(refresh)
        await asyncio.sleep(every)


async def dispatch_notifications(client: Client, db: Database, task_queue: str, *, id_prefix: str = "",
                                 every: float = 1.0) -> None:
    """The notifications outbox's dispatcher: every `every` seconds, a Notify process for each event not yet
    dispatched (id `notify-<event id>`: one per event, however many workers dispatch), then the event marked;
    and the daily digest's process kept running. The database or Temporal away for a moment: tried again."""
    with contextlib.suppress(Exception):
        await start_once(client, NotifyDigest.run, f"{id_prefix}notify-digest", task_queue)
    while True:
        with contextlib.suppress(Exception):
            await dispatch_once(client, db, task_queue, id_prefix=id_prefix)
        await asyncio.sleep(every)


async def start_once(client: Client, fn: Any, workflow_id: str, task_queue: str, *args: Any) -> None:
    """Start a workflow unless one of that id ran or runs (a dispatcher elsewhere, or before a restart)."""
    from temporalio.common import WorkflowIDReusePolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError

    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(fn, args=list(args), id=workflow_id, task_queue=task_queue,
                                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)


async def dispatch_once(client: Client, db: Database, task_queue: str, *, id_prefix: str = "") -> int:
    """One pass of the dispatcher; how many events it dispatched."""
    from domain.notifications import services as notifications

    def pending() -> list[int]:
        with db.read() as s:
            return notifications.undispatched(s)

    def mark(ids: list[int]) -> None:
        with db.write() as s:
            notifications.mark_dispatched(s, ids)

    ids = await asyncio.to_thread(pending)
    for event_id in ids:
        await start_once(client, Notify.run, f"{id_prefix}notify-{event_id}", task_queue, event_id)
    if ids:
        await asyncio.to_thread(mark, ids)
    return len(ids)


async def main(settings: Settings | None = None) -> None:
    """Run until SIGINT/SIGTERM, then finish the activities in flight and stop."""
    settings = settings or get_settings()
    metrics_runtime(settings)  # a metrics port already taken fails now, not after the connect retries
    client = None
    for attempt in range(120):  # the Temporal server may still be starting
        try:
            client = await connect(settings, sdk_metrics=True)
            break
        except Exception:
            if attempt == 119:
                raise
            await asyncio.sleep(0.5)
    assert client is not None
    db = Database(settings.database_url)
    workers = workers_from_settings(client, db, settings)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Future[list[None]]] = []

    def stop() -> None:  # Ctrl-C reaches us and `up` may send SIGTERM too: shut down once
        if not stopping:
            stopping.append(asyncio.gather(*(w.shutdown() for w in workers)))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    refresher = asyncio.ensure_future(refresh_grants(db))  # permissions as data: validators read them
    dispatcher = asyncio.ensure_future(dispatch_notifications(client, db, worker_queues(settings)[0]))
    try:
        await run_workers(workers)
    finally:
        refresher.cancel()
        dispatcher.cancel()
        if stopping:
            await stopping[0]
        db.dispose()
        shutdown_tracing()


if __name__ == "__main__":
    asyncio.run(main())
