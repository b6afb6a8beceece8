"""The application's handle on Temporal and the database: the small core every process's starter
(api/starters/) and every route works through.

Everything that changes a process goes to its workflow (a start, an Update, a signal), through a starter;
everything that reads goes to the database projection (`read`). Domain refusals come back as DomainError,
whichever side raised them, so the HTTP layer maps them once."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.types import MethodAsyncSingleParam
from temporalio.workflow import UpdateMethodMultiParam

from domain.core import records
from domain.core.db import Database
from domain.core.errors import Conflict, DomainError, Unavailable, from_kind
from workflows.common import WORKFLOW_AREAS, area_queue

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
P = TypeVar("P")  # what a workflow's run takes
R = TypeVar("R")  # what an Update (or a workflow's run) returns


UPDATE_TIMEOUT = 30.0  # seconds: a process that does not answer by then has no worker running


# The database calls' threads. asyncio's executor rather than anyio.to_thread: anyio's hand-off (a Condition-based
# queue, a capacity limiter and a cancel scope per call) was 7.9% of the engine-floor bench's py-spy samples on
# the event loop's side alone; as anyio's, a call sees the caller's context variables (the request's locale, time
# zone).
_POOL = ThreadPoolExecutor(max_workers=40, thread_name_prefix="platform-db")  # anyio's default limit


async def _in_thread(job: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_POOL, contextvars.copy_context().run, job)


def _as_domain_error(err: BaseException) -> DomainError:
    cause: BaseException | None = (err.cause if isinstance(err, WorkflowUpdateFailedError | WorkflowFailureError)
                                   else err)
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type:
            return from_kind(cause.type, cause.message)
        cause = getattr(cause, "cause", None)
    if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
        return Conflict("this process has ended; nothing more can be done on it")
    return Conflict(str(err) or "the process refused the request")


def _update_id() -> str | None:
    """An Update sent by a request that runs once per key (an Idempotency-Key, a form's token) has an id derived from
    the key: when the request runs again (its API process died, or it answered a 5xx), Temporal answers the Update
    the first run had sent with that Update's outcome instead of running it twice. Otherwise Temporal picks one."""
    request = records.keyed_request.get()
    return request.next_update_id() if request is not None else None


async def _answered(call: Awaitable[R], process_id: str,
                    recheck: Callable[[], Awaitable[object]] | None = None) -> R:
    """The answer of an Update sent to `process_id` (`call`), within UPDATE_TIMEOUT; a refusal as the DomainError
    it was (after `recheck`, when the process has ended), no answer in time as Unavailable."""
    try:
        async with asyncio.timeout(UPDATE_TIMEOUT):
            return await call
    except (WorkflowUpdateFailedError, RPCError) as e:
        if recheck is not None and isinstance(e, RPCError) and e.status == RPCStatusCode.NOT_FOUND:
            await recheck()  # the process ended between the caller's check and the Update: say how it ended
        raise _as_domain_error(e) from None
    except (TimeoutError, RPCTimeoutOrCancelledError):
        raise Unavailable(f"process {process_id} did not answer in {UPDATE_TIMEOUT:.0f} s; "
                          "is a worker running?") from None


class Platform:
    def __init__(self, client: Client, db: Database, task_queue: str, id_prefix: str = "", *,
                 area_queues: bool = False):
        # id_prefix keeps business keys apart when several databases share one Temporal (tests): every process id
        # is formed by domain.processes.ids with it.
        self.client, self.db, self.task_queue, self.id_prefix = client, db, task_queue, id_prefix
        self.area_queues = area_queues  # each process on its area's queue (settings.area_queues)

    def queue_for(self, workflow_type: str) -> str:
        """The task queue a process of `workflow_type` starts on: `task_queue`, or its area's queue."""
        return area_queue(self.task_queue, WORKFLOW_AREAS[workflow_type]) if self.area_queues else self.task_queue

    async def _reading(self, opened: Callable[[], AbstractContextManager[Any]], fn: Callable[..., T], args: tuple[Any, ...],
                       *, here: bool) -> T:
        """`fn(what opened() yields, *args)`: here, on the event loop's thread, or on a pool thread."""
        def job() -> T:
            with opened() as s:
                return fn(s, *args)
        return job() if here else await _in_thread(job)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._reading(self.db.read, fn, args, here=False)

    async def glance(self, fn: Callable[..., T], *args: Any) -> T:
        """`read` for a short read by index (the caller's session row, a long poll's re-check, one document by its
        key). On SQLite it runs here, on the event loop's thread: a local file read in WAL mode takes tens of
        microseconds and never waits for a writer, while the hand-off to a pool thread and back (and the GIL
        passed twice) cost more than the read. On PostgreSQL (a network round trip) it is a read on the pool. Never
        for a listing or a report, whose time grows with the data."""
        return await self._reading(self.db.glance, fn, args, here=self.db.is_sqlite)

    async def peek(self, fn: Callable[..., T], *args: Any) -> T:
        """`glance` in Core: `fn` gets a Connection (statements and rows, no ORM objects), the cheapest read there
        is; for what every request or every long poll's tick asks (the caller's session, a wait's sign)."""
        return await self._reading(self.db.peek, fn, args, here=self.db.is_sqlite)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        def job() -> T:
            with self.db.write() as s:
                return fn(s, *args)
        return await _in_thread(job)

    async def start(self, run: MethodAsyncSingleParam[Any, P, R], arg: P, *, workflow_type: str, id: str,
                    search_attributes: TypedSearchAttributes) -> WorkflowHandle[Any, R]:
        """Start a process of `workflow_type` under its business key `id` (domain.processes.ids), on its queue:
        starting the same document again finds the running process instead of a second one."""
        return await self.client.start_workflow(run, arg, id=id, task_queue=self.queue_for(workflow_type),
                                                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                                                search_attributes=search_attributes)

    async def start_and_update(self, run: MethodAsyncSingleParam[Any, P, Any], arg: P,
                               update: UpdateMethodMultiParam[..., R], *args: Any, workflow_type: str, id: str,
                               search_attributes: TypedSearchAttributes) -> R:
        """`start` and then `update` in one round trip (Temporal's update-with-start): the process of `workflow_type`
        under its business key `id` starts, or, when it is running already (USE_EXISTING: the same document
        submitted again), is found, and the Update `update` with `args` is answered by it. A refusal comes back
        as the DomainError it was, as from `update`."""
        op = WithStartWorkflowOperation(run, arg, id=id, task_queue=self.queue_for(workflow_type),
                                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                                        search_attributes=search_attributes)
        return await _answered(self.client.execute_update_with_start_workflow(
            update, args=list(args), start_workflow_operation=op, id=_update_id()), id)

    def handle(self, process_id: str) -> WorkflowHandle[Any, Any]:
        """The running process `process_id`, to send an Update or a signal to."""
        return self.client.get_workflow_handle(process_id)

    async def update(self, handle: WorkflowHandle[Any, Any], update: UpdateMethodMultiParam[..., R], *args: Any,
                     recheck: Callable[[], Awaitable[object]] | None = None) -> R:
        """Send an Update; a refusal comes back as the DomainError it was. `recheck`, the caller's check of the
        document's state, runs again when the process has ended meanwhile, so the refusal names the state it
        ended in rather than only that it ended."""
        return await _answered(handle.execute_update(update, args=list(args), id=_update_id()), handle.id, recheck)

    async def recorded(self, handle: WorkflowHandle[Any, Any], update: UpdateMethodMultiParam[..., M],
                       model: type[M]) -> M:
        """The answer of a process that records its document in one activity and then ends at once (a payment,
        a return): its `recorded` Update's answer, or, when the process has already ended, its result or the
        refusal it failed with (nothing stored)."""
        ended: list[M] = []

        async def outcome() -> None:
            try:
                ended.append(model.model_validate(await handle.result()))
            except WorkflowFailureError as e:
                raise _as_domain_error(e) from None

        try:
            return await self.update(handle, update, recheck=outcome)
        except Conflict:
            if ended:
                return ended[0]
            raise


__all__ = ["Platform"]
