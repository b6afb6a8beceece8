"""The month-end close (workflows/period_close.py): finance starts it; its checks come back with the answer."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.platform import Platform
from domain import permissions
from domain.approvals.rules import PolicyTier, StepSpec, resolve_chain
from domain.cash import close
from domain.cash.close_rules import CloseRequest, check_may_close
from domain.core.errors import Conflict, DomainError, from_kind
from domain.core.types import utcnow
from domain.org import services as org
from domain.processes import ids
from workflows.common import search_attributes
from workflows.period_close import PeriodClose


async def start(platform: Platform, requester: str, period: str) -> tuple[bool, dict[str, Any]]:
    """(started now, the close): a period closed, not yet ended, or malformed is refused at once; a close already
    running is answered as it is (not started twice)."""
    pid = ids.period_close(period, platform.id_prefix)

    def prepare(s: Any) -> CloseRequest:
        check_may_close(period, close.status_of(s, period), utcnow().date())
        role = permissions.duty_role(permissions.Duty.PERIOD_CLOSE_APPROVER)
        # Resolved now: a close nobody but the requester could approve is refused before anything starts.
        steps = resolve_chain(PolicyTier(above=0, steps=[StepSpec(kind="role", value=role)]), requester,
                              org.people(s))
        return CloseRequest(period=period, requested_by=requester, steps=steps)

    req = await platform.read(prepare)
    if await _running(platform, pid):
        return False, await platform.read(close.get, period)
    handle = await platform.start(PeriodClose.run, req, workflow_type="PeriodClose", id=pid,
                                  search_attributes=search_attributes("period_close", period, requester,
                                                                      stage="checking"))
    try:
        await platform.update(handle, PeriodClose.checked)
    except DomainError:
        # Its checks failed and it ended before the Update reached it, or it was refused: its end says which.
        try:
            await handle.result()
        except WorkflowFailureError as e:
            raise _refusal(e) from None
    return True, await platform.read(close.get, period)


async def _running(platform: Platform, process_id: str) -> bool:
    try:
        desc = await platform.handle(process_id).describe()
    except RPCError:
        return False
    return desc.status == WorkflowExecutionStatus.RUNNING


def _refusal(err: BaseException) -> DomainError:
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type:
            return from_kind(cause.type, cause.message)
        cause = getattr(cause, "cause", None)
    return Conflict(f"the close could not run: {err}")
