"""What every workflow shares: activity options, search attributes, refusals as Update failures (`refusing`), and
the document a process records, sends through approval and closes (`Document`, `WithdrawableDocument`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, FailureError

if TYPE_CHECKING:
    from pydantic import BaseModel
    from temporalio.client import Client

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from domain.approvals.rules import (
        ApprovalOutcome,
        Withdrawal,
        check_may_withdraw,
        late_withdrawal_note,
        late_withdrawal_refusal,
    )
    from domain.core.errors import ERROR_TYPES, Conflict, DomainError
    from domain.org.people import Actor

PROCESS_TYPE = SearchAttributeKey.for_keyword("ProcessType")
T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")
STAGE = SearchAttributeKey.for_keyword("Stage")
BUSINESS_KEY = SearchAttributeKey.for_keyword("BusinessKey")
OWNER = SearchAttributeKey.for_keyword("Owner")
AMOUNT = SearchAttributeKey.for_float("Amount")
SALESPERSON = SearchAttributeKey.for_keyword("Salesperson")
CUSTOMER = SearchAttributeKey.for_keyword("Customer")
SEARCH_ATTRIBUTES: list[SearchAttributeKey[Any]] = [PROCESS_TYPE, STAGE, BUSINESS_KEY, OWNER, AMOUNT, SALESPERSON,
                                                    CUSTOMER]

def search_attributes(type_: str, key: str, owner: str, amount: Any = None, *, stage: str | None = "submitted",
                      salesperson: str | None = None, customer: str | None = None) -> TypedSearchAttributes:
    """What a process is found by from its start: type, business key, owner, and the amount, stage,
    salesperson and customer where it has them (a missing one is left out)."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(PROCESS_TYPE, type_), SearchAttributePair(BUSINESS_KEY, key), SearchAttributePair(OWNER, owner)]
    if amount is not None:
        pairs.append(SearchAttributePair(AMOUNT, float(amount)))
    if stage:
        pairs.append(SearchAttributePair(STAGE, stage))
    if salesperson:
        pairs.append(SearchAttributePair(SALESPERSON, salesperson))
    if customer:
        pairs.append(SearchAttributePair(CUSTOMER, customer))
    return TypedSearchAttributes(pairs)


# Activities are short DB transactions: retry fast, forever (a database outage only delays).
RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=30))
ACTIVITY_TIMEOUT = timedelta(seconds=30)


async def run(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Run a (sync, method-bound) activity with the house options."""
    return await workflow.execute_activity_method(
        fn, args=list(args), start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY, **kw)


async def record_or_fail(record: Awaitable[T], refused: Callable[[tuple[str, str]], None]) -> T:
    """Run a process's recording activity; when the domain refuses it (nothing was stored), tell `refused`
    (kind, sentence: what its `recorded` Update answers), mark the process refused, let the handlers answer, and
    fail the process with the refusal. Any other failure propagates as it is."""
    try:
        return await record
    except ActivityError as e:
        cause = e.cause
        if not (isinstance(cause, ApplicationError) and cause.type in ERROR_TYPES):
            raise
        refused((cause.type, cause.message))
        workflow.upsert_search_attributes([STAGE.value_set("refused")])
        await workflow.wait_condition(workflow.all_handlers_finished)
        raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None


def refusal(err: DomainError) -> ApplicationError:
    """A domain refusal as the error an Update fails with; the API maps `type` to 403/404/409/422."""
    return ApplicationError(err.message, type=err.kind, non_retryable=True)


class _Refusing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(err, DomainError):
            raise refusal(err) from None


_REFUSING = _Refusing()


def refusing() -> _Refusing:
    """`with refusing(): <the domain's check_may_* rules>`: the one place where an Update turns a domain refusal
    into its failure, the `refusal` with the rule's sentence and kind. An Update applies its rule twice, in its
    validator (the caller is answered at once and nothing is recorded) and again in its handler, because the state
    may change between the two (an Update or the run may come first)."""
    return _REFUSING


# Workflow code generations. An execution started by code of generation N carries `generation` N in its input
# (the domain's ApprovalRequest, ClaimDraft, RequisitionDraft, OrderRef; 0 where the input has none: it was started
# before generations) and takes every patch retired at N or before as applied from its start, without asking
# workflow.patched: in a new execution that call records a marker and, added by the SDK's core, an upsert of the
# TemporalChangeVersion search attribute, which cost the Temporal server 6 ms of CPU each, in every execution
# (`python -m bench.temporal_costs`). Executions of an older generation ask workflow.patched as before, so their
# histories replay unchanged (tests/workflows/test_generations.py). A patch added later is asked as always, and
# is retired at the next generation. Deploying: every old worker stopped before a new one starts, then the API (an
# old worker would run a new generation's execution with its markers, which the newer code does not expect on
# replay): README, "Running at scale".
GENERATION = 1
RETIRED_PATCHES: Mapping[str, int] = MappingProxyType({  # read-only: workflow modules keep no state a run could change
    "out-of-office": 1, "task-changes-in-turn": 1,  # Approval
    "pay-task": 1,  # ExpenseClaim
    "receipts-in-turn": 1, "inspection-lots": 1,  # Purchase
    "order-to-cost": 1, "partial-deliveries": 1,  # OrderFulfilment
})


def this_generation(start: M) -> M:
    """The input `start` of a process about to be started (by the API or as a child), of this code's generation:
    every start goes through here, so every new execution carries GENERATION."""
    return start.model_copy(update={"generation": GENERATION})


def patched(patch_id: str, generation: int) -> bool:
    """workflow.patched(patch_id) for an execution of `generation`: True without a marker once the patch is retired
    at that generation (RETIRED_PATCHES)."""
    retired_at = RETIRED_PATCHES.get(patch_id)
    if retired_at is not None and generation >= retired_at:
        return True
    return workflow.patched(patch_id)


def set_stage(stage: str) -> None:
    workflow.upsert_search_attributes([STAGE.value_set(stage)])


async def register_search_attributes(client: Client) -> list[str]:
    """Register those of our custom search attributes the server lacks; returns their names. Idempotent,
    and needed beyond the dev server's --search-attribute flags: those do not reach an existing store."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest

    kinds = {"KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
             "DOUBLE": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE}
    from temporalio.service import RPCError, RPCStatusCode

    namespace = client.namespace
    ours = {k.name: kinds[k.indexed_value_type.name] for k in SEARCH_ATTRIBUTES}
    operator = client.operator_service
    try:
        have = set((await operator.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace))).custom_attributes)
    except RPCError as e:
        if e.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        have = None  # the time-skipping test server cannot list: add one by one, "exists" is fine
    added = []
    for name, kind in ours.items():
        if have is not None and name in have:
            continue
        try:
            await operator.add_search_attributes(AddSearchAttributesRequest(namespace=namespace,
                                                                            search_attributes={name: kind}))
            added.append(name)
        except RPCError as e:
            if have is not None or "already" not in str(e).lower():
                raise
    return sorted(added)


WITHDRAW_PATCH = "withdraw-through-approval"


async def approval_or_withdrawal(child: Any, withdrawn: Callable[[], bool],
                                 withdrawal: Callable[[], Withdrawal]) -> ApprovalOutcome | None:
    """Wait for the approval child, or for the document's withdrawal (None).

    The approval child decides between a withdrawal and its last decision (`Approval.withdraw`), so exactly one
    wins: a withdrawal it takes first ends it (None here); one that comes after its last decision (or after the
    child closed) gets the decided outcome back, with the late withdrawal on the trail. The caller tells its own
    caller: a claim's cancel fails with `late_withdrawal_refusal`. Before the patch the withdrawal cancelled the
    child and won even over a decision landing at that moment."""
    await workflow.wait_condition(lambda: child.done() or withdrawn())
    if withdrawn() and workflow.patched(WITHDRAW_PATCH):
        w = withdrawal()
        if not child.done():
            with contextlib.suppress(FailureError):  # the approval closed meanwhile: its last decision came first
                await child.signal("withdraw", w)
        outcome: ApprovalOutcome = await child
        if outcome.withdrawn is not None:
            return None
        await run(ApprovalActivities.note_late_withdrawal, child.id, w.by, late_withdrawal_note(w, outcome),
                  w.refused_when_late)
        return outcome
    if withdrawn() and not child.done():
        child.cancel()
        with contextlib.suppress(ChildWorkflowError, asyncio.CancelledError):
            await child
    if withdrawn():
        return None
    result: ApprovalOutcome = child.result()
    return result


class Document:
    """A document its process records first and closes at its end (an expense claim, a requisition, a quotation).

    Invariants: `recorded` turns true once, when the document is in the database (`recorded_state` answers then);
    `status` is the document's status as the database has it, or is about to (the run writes it); `ending` is set
    the moment the run starts writing the document's end, so a check meanwhile states the end (`shown_status`),
    not a status about to go. The end is written by the run alone (`_close`), after which it waits for the Updates
    still running to finish."""

    def __init__(self) -> None:
        self.status = "submitted"
        self.recorded = False
        self.ending: str | None = None  # the status being written as the document ends

    @property
    def shown_status(self) -> str:
        """The status a refusal states: the end being written, else the status."""
        return self.ending or self.status

    async def _write_end(self, status: str, reason: str) -> None:
        """Writes the document's end (`status`, and why where there is a reason): its process's activity."""
        raise NotImplementedError

    async def _close(self, status: str, reason: str = "") -> str:
        """Ends the document in `status`: its stage, the database, then the Updates still running finish first."""
        self.ending = status
        set_stage(status)
        await self._write_end(status, reason)
        self.status = status
        await workflow.wait_condition(workflow.all_handlers_finished)
        return status

    @workflow.update
    async def recorded_state(self) -> str:
        """Answers once the document is in the database, so the API's 201 is followed by a readable GET."""
        await workflow.wait_condition(lambda: self.recorded)
        return self.status


class WithdrawableDocument(Document):
    """A document its requester (or an admin) may withdraw while it awaits approval (an expense claim, a
    requisition): the `cancel` Update asks, the approval child decides (`approval_or_withdrawal`).

    Invariants, besides `Document`'s: `cancel_by` is set by the one cancel taken (a second is refused) and holds
    until the approval answers it: the withdrawal ends the document (cancelled), or, when the approval took its last
    decision first, `cancel_refused` holds the 409 that cancel fails with and `cancel_by` is cleared. The cancel
    handler changes nothing else and awaits no activity: it waits for the run's answer, so it needs no lock."""

    def __init__(self) -> None:
        super().__init__()
        self.cancel_by: str | None = None
        self.cancel_refused: str | None = None  # the 409 for a cancel that came after the last decision

    def _requester(self) -> str:
        raise NotImplementedError

    def _document(self) -> str:
        """The document as refusals and the trail name it: "claim EC-00012"."""
        raise NotImplementedError

    def _withdrawal(self) -> Withdrawal:
        assert self.cancel_by is not None
        return Withdrawal(by=self.cancel_by, document=self._document())

    async def _approved_or_cancelled(self, child: Any) -> ApprovalOutcome | None:
        """The approval's outcome, or None when the cancel was taken before its last decision (the caller closes
        the document as cancelled); a cancel that came after it is refused, with the decision that came first."""
        outcome = await approval_or_withdrawal(child, lambda: self.cancel_by is not None, self._withdrawal)
        if outcome is not None and self.cancel_by is not None:
            self.cancel_refused = late_withdrawal_refusal(self._withdrawal(), outcome)
            self.cancel_by = None
        return outcome

    @workflow.update
    async def cancel(self, actor: Actor) -> str:
        """Withdraws the document through its approval, which takes it or its last decision first: a cancel that
        comes after the last decision fails (409) and is on the trail."""
        self._may_cancel(actor)
        self.cancel_by = actor.username
        await workflow.wait_condition(lambda: self.status == "cancelled" or self.cancel_refused is not None)
        if self.status != "cancelled" and self.cancel_refused is not None:
            raise refusal(Conflict(self.cancel_refused))
        return self.status

    @cancel.validator
    def _may_cancel(self, actor: Actor) -> None:
        with refusing():
            check_may_withdraw(actor, self._requester(), self.shown_status, self.cancel_by, self._document())


# --- task queues per area -------------------------------------------------------------------------
# With `area_queues` on, each process runs on `<task_queue>-<area>` so a company can give an area workers
# of its own. Approval children run on their parent's queue (its area). Pure: no I/O, deterministic.
AREAS: tuple[str, ...] = ("expenses", "purchasing", "sales", "production", "finance")
WORKFLOW_AREAS: dict[str, str] = {
    "ExpenseClaim": "expenses",
    "Purchase": "purchasing",
    "Inspection": "purchasing",  # a quarantine lot's inspection (issue 20): started by the receipt
    "LeadToOrder": "sales",
    "Quotation": "sales",
    "OrderFulfilment": "sales",
    "ProductionOrder": "production",
    "MrpRelease": "production",  # a stored MRP run's planned orders made into orders (issue 20)
    "CustomerInvoice": "finance",
    "SupplierInvoice": "finance",
    "Payment": "finance",
    "SalesReturn": "finance",
    "PeriodClose": "finance",
    "PurchaseReturn": "finance",
    "ChangeApproval": "finance",
    "FormRequest": "expenses",  # the office's requests: leave, business trips (with their advances), contracts
    # Notifications run where the worker's dispatcher starts them (the first queue it polls); by default here.
    "Notify": "expenses",
    "NotifyDigest": "expenses",
}


def area_queue(base: str, area: str) -> str:
    """The task queue of `area` beside the base `task_queue`."""
    return f"{base}-{area}"


def parse_areas(value: str) -> tuple[str, ...]:
    """A WORKER_AREAS value (a comma list, or "all") as areas in their canonical order; an unknown or
    missing name is a ValueError that says which names there are."""
    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    if not names:
        raise ValueError(f"no area named; give a comma list of {', '.join(AREAS)}, or all")
    if "all" in names:
        return AREAS
    unknown = [n for n in names if n not in AREAS]
    if unknown:
        raise ValueError(f"unknown area {', '.join(repr(n) for n in unknown)}; the areas are "
                         f"{', '.join(AREAS)} (or all)")
    return tuple(a for a in AREAS if a in names)


def base_of_area_queue(queue: str, area: str) -> str | None:
    """The base `task_queue` of an area queue of `area`; None when `queue` is not one (no split)."""
    suffix = f"-{area}"
    return queue[:-len(suffix)] if queue.endswith(suffix) and len(queue) > len(suffix) else None


def cross_area_queue(parent_queue: str, parent_type: str, child_type: str) -> str | None:
    """The task queue for a child of `child_type` started by a `parent_type` running on `parent_queue`:
    when the parent runs on its area's queue (split on) and the child is of another area, that area's
    queue beside it; otherwise None: the child runs on its parent's queue, as without the split."""
    parent_area, child_area = WORKFLOW_AREAS.get(parent_type), WORKFLOW_AREAS.get(child_type)
    if parent_area is None or child_area is None or child_area == parent_area:
        return None
    base = base_of_area_queue(parent_queue, parent_area)
    return None if base is None else area_queue(base, child_area)


def child_queue(child_type: str) -> str | None:
    """In a workflow: the `task_queue` to start a child of `child_type` with (None: the parent's queue)."""
    info = workflow.info()
    return cross_area_queue(info.task_queue, info.workflow_type, child_type)
