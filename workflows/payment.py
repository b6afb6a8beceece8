"""Payment (收款 / 付款): money in from a customer or out to a supplier, set against their invoices.

Process: record the payment with its allocation (one activity, one database transaction: to the invoices named,
or to the oldest open ones first; what is left over stays the party's credit) → tell each invoice it reached
(`payment_allocated`), whose process re-reads it and closes when it is paid. The caller waits for the recorded
payment through the `recorded` Update. A refusal found while recording (another payment took the invoice's last
outstanding meanwhile, the period was closed meanwhile) fails the process with nothing stored: the same reference
can then be recorded again under the same id.
Waits: only for its activity. Children: none.

`tell_invoices` is the one way any process tells invoices that money reached them (payments here; credit set
against an invoice when another posts)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.payments import PaymentActivities
    from domain.cash.rules import PaymentDraft, PaymentResult

from workflows.common import BUSINESS_KEY, STAGE, record_or_fail, run

PAYMENT_ALLOCATED = "payment_allocated"


async def tell_invoices(process_ids: Sequence[str]) -> list[str]:
    """Signal `payment_allocated` to each invoice process in `process_ids`, at once; returns those told. One that
    has ended (paid, written off) or never ran is skipped: an invoice's process re-reads its invoice on its own
    timers too, so a lost signal only delays."""

    async def tell(process_id: str) -> bool:
        try:
            await workflow.get_external_workflow_handle(process_id).signal(PAYMENT_ALLOCATED)
            return True
        except FailureError:  # not found, or already closed
            return False

    ids = sorted({p for p in process_ids if p})
    told = await asyncio.gather(*(tell(p) for p in ids))
    return [p for p, ok in zip(ids, told, strict=True) if ok]


@workflow.defn
class Payment:
    """Invariants: `result` is set once, when the payment is in the database; `refused` instead when recording was
    refused (kind, sentence), and then nothing was stored. The `recorded` Update waits for either and changes
    nothing; the run waits for it to answer before it returns or fails."""

    def __init__(self) -> None:
        self.result: PaymentResult | None = None
        self.refused: tuple[str, str] | None = None

    def _refused(self, why: tuple[str, str]) -> None:
        self.refused = why

    @workflow.run
    async def run(self, draft: PaymentDraft) -> PaymentResult:
        wf_id = workflow.info().workflow_id
        result: PaymentResult = await record_or_fail(run(PaymentActivities.record_payment, draft.payment, draft.by, wf_id), self._refused)
        self.result = result
        workflow.upsert_search_attributes([BUSINESS_KEY.value_set(result.payment_id), STAGE.value_set("allocated")])
        await tell_invoices(result.invoices)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    @workflow.update
    async def recorded(self) -> PaymentResult:
        """Answers once the payment is in the database (or with the refusal that stored nothing)."""
        await workflow.wait_condition(lambda: self.result is not None or self.refused is not None)
        if self.refused is not None:
            raise ApplicationError(self.refused[1], type=self.refused[0], non_retryable=True)
        assert self.result is not None
        return self.result
