"""Incidents: activities of running processes that keep failing, as Temporal reports them (the pending
activities of each running workflow's description), and the admin's "retry now" for one of them.

Retry asks the server to reset the activity (WorkflowService.ResetActivity, server 1.27+; the installed
temporalio SDK has no typed wrapper, so the raw service call): its attempt count goes back to 1 and, when it
waits in backoff, it is scheduled at once. The activity's code is unchanged, so it fails again unless what it
depends on was fixed; the workflow itself gets nothing. Where the server refuses the call, retry says when
Temporal will try next by itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import ResetActivityRequest
from temporalio.client import Client
from temporalio.service import RPCError

CONCURRENCY = 8  # describes in flight at once
TIMEOUT = 3.0  # seconds for one describe
MAX_PROCESSES = 500  # running processes looked at, newest first


@dataclass(frozen=True)
class Incident:
    process_id: str
    business_key: str
    process_type: str
    title: str
    activity_id: str
    activity_type: str
    state: str
    attempt: int
    maximum_attempts: int  # 0: unlimited
    error: str
    last_failure_at: datetime | None
    next_attempt_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _when(msg: PendingActivityInfo, field: str) -> datetime | None:
    if not msg.HasField(field):  # type: ignore[arg-type]  # the stubs type HasField by Literal field names; ours is a str
        return None
    stamp = getattr(msg, field)
    return stamp.ToDatetime(tzinfo=UTC) if stamp.seconds or stamp.nanos else None


def incidents_of(process: dict[str, Any], pending: Iterable[PendingActivityInfo]) -> list[Incident]:
    """The pending activities of one process that are failing: retried (attempt > 1) or carrying a failure."""
    out = []
    for a in pending:
        failure = a.last_failure.message if a.HasField("last_failure") else ""
        if a.attempt <= 1 and not failure:
            continue
        state = PendingActivityState.Name(a.state).removeprefix("PENDING_ACTIVITY_STATE_").lower()
        out.append(Incident(
            process_id=process["process_id"], business_key=process.get("business_key", ""),
            process_type=process.get("type", ""), title=process.get("title", ""), activity_id=a.activity_id,
            activity_type=a.activity_type.name, state=state, attempt=a.attempt,
            maximum_attempts=a.maximum_attempts, error=failure or "(no message)",
            last_failure_at=_when(a, "last_attempt_complete_time"),
            next_attempt_at=_when(a, "next_attempt_schedule_time")))
    return out


async def collect(client: Client, processes: Sequence[dict[str, Any]], concurrency: int = CONCURRENCY,
                  seconds: float = TIMEOUT) -> tuple[list[Incident], int]:
    """(incidents of these running processes, how many could not be described in time or at all). At most
    `concurrency` describes run at once, each given `seconds`."""
    gate = asyncio.Semaphore(concurrency)

    async def one(p: dict[str, Any]) -> list[Incident] | None:
        async with gate:
            try:
                async with asyncio.timeout(seconds):
                    d = await client.get_workflow_handle(p["process_id"]).describe()
            except (RPCError, TimeoutError):
                return None
        return incidents_of(p, d.raw_description.pending_activities)

    results = await asyncio.gather(*(one(p) for p in processes))
    found = [i for r in results if r for i in r]
    found.sort(key=lambda i: (-i.attempt, i.process_id, i.activity_id))
    return found, sum(r is None for r in results)


async def retry(client: Client, workflow_id: str, activity_id: str, identity: str) -> bool:
    """Reset one pending activity so it runs again now with attempt 1; False where the server refused."""
    try:
        await client.workflow_service.reset_activity(ResetActivityRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id), id=activity_id,
            identity=identity, reset_heartbeat=True))
    except RPCError:
        return False
    return True
