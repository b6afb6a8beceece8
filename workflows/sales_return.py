"""SalesReturn (退货): goods a customer sends back against a sales order, and the credit note for them.

Process: record the return (one activity, one database transaction: the return note, the goods back into stock at
the cost they left at, a credit note against the invoice of each delivery they came from, set against what the
customer owes at once) → tell each invoice the credit reached (`payment_allocated`), whose process re-reads it and
closes when it is paid. The caller waits for the recorded return through the `recorded` Update. A refusal found
while recording (another return took the goods meanwhile, the period was closed) fails the process with nothing
stored.
Waits: only for its activity. Children: none."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.returns import ReturnActivities
    from domain.sales.returns import ReturnDraft, ReturnResult

from workflows.common import STAGE, record_or_fail, run
from workflows.payment import tell_invoices


@workflow.defn
class SalesReturn:
    """Invariants: `result` is set once, when the return is in the database; `refused` instead when recording was
    refused (kind, sentence), and then nothing was stored. The `recorded` Update waits for either and changes
    nothing; the run waits for it to answer before it returns or fails."""

    def __init__(self) -> None:
        self.result: ReturnResult | None = None
        self.refused: tuple[str, str] | None = None

    def _refused(self, why: tuple[str, str]) -> None:
        self.refused = why

    @workflow.run
    async def run(self, draft: ReturnDraft) -> ReturnResult:
        wf_id = workflow.info().workflow_id
        result: ReturnResult = await record_or_fail(run(ReturnActivities.record_return, draft, wf_id), self._refused)
        self.result = result
        workflow.upsert_search_attributes([STAGE.value_set("returned")])
        await tell_invoices(result.invoices)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    @workflow.update
    async def recorded(self) -> ReturnResult:
        """Answers once the return is in the database (or with the refusal that stored nothing)."""
        await workflow.wait_condition(lambda: self.result is not None or self.refused is not None)
        if self.refused is not None:
            raise ApplicationError(self.refused[1], type=self.refused[0], non_retryable=True)
        assert self.result is not None
        return self.result
