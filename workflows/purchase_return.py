"""PurchaseReturn (退货给供应商 / 红字发票): a supplier's credit note against a posted bill, with goods sent back to
the supplier or as a price correction.

Process: record the credit note (one activity, one database transaction: its number, the goods out of stock at the
moving average, the credit note and its posting, set against the supplier's open bills, the one it is against
first) → tell each bill the credit reached (`payment_allocated`), whose process re-reads it and closes when it is
paid. The caller waits for the recorded credit note through the `recorded` Update. A refusal found while recording
(another credit note took the quantity meanwhile, the goods left stock, the period was closed) fails the process
with nothing stored.
Waits: only for its activity. Children: none."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.purchase_returns import PurchaseReturnActivities
    from domain.cash.purchase_returns import CreditDraft, CreditResult

from workflows.common import STAGE, record_or_fail, run
from workflows.payment import tell_invoices


@workflow.defn
class PurchaseReturn:
    """Invariants: `result` is set once, when the credit note is in the database; `refused` instead when recording
    was refused (kind, sentence), and then nothing was stored. The `recorded` Update waits for either and changes
    nothing; the run waits for it to answer before it returns or fails."""

    def __init__(self) -> None:
        self.result: CreditResult | None = None
        self.refused: tuple[str, str] | None = None

    def _refused(self, why: tuple[str, str]) -> None:
        self.refused = why

    @workflow.run
    async def run(self, draft: CreditDraft) -> CreditResult:
        wf_id = workflow.info().workflow_id
        result: CreditResult = await record_or_fail(
            run(PurchaseReturnActivities.record_supplier_credit, draft, wf_id), self._refused)
        self.result = result
        workflow.upsert_search_attributes([STAGE.value_set("recorded")])
        await tell_invoices(result.invoices)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    @workflow.update
    async def recorded(self) -> CreditResult:
        """Answers once the credit note is in the database (or with the refusal that stored nothing)."""
        await workflow.wait_condition(lambda: self.result is not None or self.refused is not None)
        if self.refused is not None:
            raise ApplicationError(self.refused[1], type=self.refused[0], non_retryable=True)
        assert self.result is not None
        return self.result
