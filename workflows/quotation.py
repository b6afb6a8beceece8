"""Quotation: a priced offer on an opportunity, carried to the customer's answer.

A child of the opportunity's LeadToOrder process, which starts it and may withdraw it (the
opportunity was lost, or another of its quotations was accepted).
Process: record and price → a discount above 10 %, a line under cost or too far under list, or a margin
under the pricing policy goes to the sales manager first, and to the cfo after him under the policy's
second margin threshold (Approval child; rejected → rejected) → sent → the customer accepts before it
expires (the salesperson is reminded two days before; unanswered at the end of its last valid day →
expired) or rejects it with a reason → credit check: an order over the customer's credit goes to finance (Approval child; rejected →
rejected) → sales order created, opportunity won, its fulfilment started → accepted.
Waits: on approvals, on the customer's answer (accept/reject Updates), on the validity timers, on the
parent's withdrawal (signal).
Children: Approval (discount, credit); OrderFulfilment (abandoned: it outlives the quotation)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from activities.crm import CrmActivities
    from activities.sales import SalesActivities
    from domain.approvals import rules as approval_rules
    from domain.processes import ids
    from domain.sales import rules
    from domain.sales.rules import QuotationStatus as Status

from workflows.approval import start_approval
from workflows.common import (
    Document,
    approval_or_withdrawal,
    refusing,
    run,
    search_attributes,
    set_stage,
    this_generation,
)
from workflows.order_fulfilment import OrderFulfilment


@workflow.defn
class Quotation(Document):
    """Invariants, besides those of a `Document` (its `recorded_state`, its end written by `_close`): `answer` is
    set once, by the customer's answer recorded (accept or reject: a second answer is refused); `withdrawn` is set
    once, by the opportunity's signal (the first reason stands); `on_record` is false only while the run writes
    "sent", which it says before the database does.

    `accept` awaits: it waits for "sent" to be on record, then records the acceptance in the database under the
    opportunity's lock (a lost opportunity, or another quotation accepted first, refuses it there). While it does,
    `accepting` is set: another answer is refused at once (never queued behind it), and the run neither takes a
    withdrawal nor lets the quotation expire: it waits for the yes to land or fail. A flag, not a lock, because
    nothing waits its turn: the other answers are refused, and the run only waits for it to clear. `reject`
    awaits nothing before its answer counts."""

    def __init__(self) -> None:
        super().__init__()
        self.draft: rules.QuotationDraft | None = None
        self.rec: rules.QuotationRecorded | None = None
        self.answer: str | None = None  # accept | reject, once the customer has answered
        self.answered_by: str | None = None
        self.reason = ""  # why the customer rejected it
        self.accepting = False  # the customer's yes is being recorded
        self.credit_steps: list[approval_rules.ChainStep] = []
        self.credit_hold = False  # the customer was on credit hold when it accepted
        self.credit_over = True
        self.withdrawn: str | None = None  # why the opportunity withdrew it
        self.on_record = True  # the database shows the status this workflow has
        self.order: str | None = None

    @workflow.run
    async def run(self, draft: rules.QuotationDraft) -> str:
        self.draft = draft
        wf_id = workflow.info().workflow_id
        self.rec = await run(SalesActivities.record_quotation, draft, wf_id)
        self.status, self.recorded = self.rec.status, True
        if self.rec.discount_steps:
            # Beside the discount rule, a price review (a line under cost or under list, a margin under the
            # policy) may ask for it; the same Approval child, its chain says who (the cfo under the second
            # margin threshold).
            set_stage("discount approval" if self.rec.max_discount_pct > rules.DEFAULT_DISCOUNT_LIMIT
                      else "price approval")
            approved = await self._approved(self.rec.discount_steps, "discount", ids.discount_approval(wf_id))
            if approved is None or (approved and self.withdrawn is not None):  # withdrawn (after approval too)
                return await self._close(Status.REJECTED, self.withdrawn or "")
            if not approved:
                return await self._close(Status.REJECTED, "the sales manager did not approve the discount"
                                         if self.rec.max_discount_pct > rules.DEFAULT_DISCOUNT_LIMIT
                                         else "the price was not approved")
            # The workflow says sent before the database does, never after: whoever reads "sent" may
            # accept at once, and an acceptance waits for the database to say so too (`on_record`).
            self.status, self.on_record = Status.SENT, False
            await run(SalesActivities.set_quotation_status, draft.number, wf_id, Status.SENT, False)
            self.on_record = True
        set_stage("sent")
        await self._await_answer(wf_id)
        if self.answer != "accept":
            if self.answer == "reject":
                return await self._close(Status.REJECTED, self.reason)
            if self.withdrawn is not None:
                return await self._close(Status.REJECTED, self.withdrawn)
            return await self._close(Status.EXPIRED)
        if self.credit_steps:
            set_stage("credit approval")
            if not await self._approved(self.credit_steps, "credit", ids.credit_approval(wf_id)):
                return await self._close(Status.REJECTED, "finance did not approve the customer's credit")
        order = await run(SalesActivities.create_sales_order, draft.number, wf_id, self.rec.owner, draft.id_prefix)
        # Fulfilment is a process of its own, under the order's business key: it outlives this one.
        await workflow.start_child_workflow(
            OrderFulfilment.run, this_generation(order), id=ids.sales_order(order.number, draft.id_prefix),
            parent_close_policy=ParentClosePolicy.ABANDON, search_attributes=search_attributes(
                "sales_order", order.number, order.owner, self.rec.total, stage="reserving", salesperson=order.owner,
                customer=self.rec.customer))
        self.order = order.number
        self.status = Status.ACCEPTED
        set_stage("accepted")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status

    async def _approved(self, steps: list[approval_rules.ChainStep], what: str, child_id: str) -> bool | None:
        """The approval's verdict; None when the quotation was withdrawn while it waited (a discount
        approval only: once the customer has accepted, nothing withdraws it)."""
        assert self.draft is not None and self.rec is not None
        r = self.rec
        title = (f"Quotation {self.draft.number} for {r.customer}: {r.total:,.2f} {r.currency}, "
                 + (f"discount up to {r.max_discount_pct.normalize():f} %" if what == "discount"
                    else (("customer on credit hold" + (", over its credit limit" if self.credit_over else ""))
                          if self.credit_hold else "over the customer's credit limit")))
        if what == "discount" and r.review_reasons and r.margin is not None:
            pct = "no revenue" if r.margin_pct is None else f"{r.margin_pct:f} %"
            more = len(r.review_reasons) - 1  # the task's page lists them all; the inbox line names the first
            title = (f"Quotation {self.draft.number} for {r.customer}: {r.total:,.2f} {r.currency}, margin "
                     f"{r.margin:,.2f} ({pct}): {r.review_reasons[0]}" + (f" (+{more} more)" if more else ""))
            title = title if len(title) <= 300 else title[:299] + "…"  # the task's title holds 300
        child = await start_approval(approval_rules.ApprovalRequest(
            process_id=workflow.info().workflow_id, process_type="quotation", business_key=self.draft.number,
            title=title, amount=r.total, requester=self.draft.created_by, steps=steps), child_id,
            customer=r.customer, salesperson=r.owner)
        # The approval decides between the withdrawal and its last decision: a decision after it is refused,
        # one before it stands on the trail and the quotation is withdrawn once approved.
        outcome = await approval_or_withdrawal(
            child, lambda: what == "discount" and self.withdrawn is not None,
            lambda: approval_rules.Withdrawal(by="the opportunity", document=f"quotation {self.draft.number}"
                                              if self.draft else "quotation", what="withdrawal",
                                              reason=self.withdrawn or "", refused_when_late=False))
        return None if outcome is None else outcome.approved

    def _answered(self) -> bool:
        return self.answer is not None or (self.withdrawn is not None and not self.accepting)

    async def _await_answer(self, wf_id: str) -> None:
        """Until the customer answers, the opportunity withdraws the quotation, or it runs out
        (reminding the salesperson first). An answer being recorded at the last moment is waited for."""
        assert self.draft is not None and self.rec is not None
        zone = workflow.now().tzinfo
        expires = datetime.combine(self.rec.valid_until + timedelta(days=1), time(0), tzinfo=zone)
        remind_on = rules.reminder_date(self.draft.issued_on, self.rec.valid_until)
        if remind_on is not None:
            remind_at = datetime.combine(remind_on, time(0), tzinfo=zone)
            try:
                await workflow.wait_condition(self._answered,
                                              timeout=max(remind_at - workflow.now(), timedelta(seconds=1)))
                return
            except TimeoutError:
                await run(CrmActivities.open_follow_up, approval_rules.TaskSpec(
                    task_id=str(workflow.uuid4()), workflow_id=f"{wf_id}:reminder", process_id=wf_id,
                    process_type="quotation", kind="follow_up", business_key=self.draft.number,
                    title=f"Quotation {self.draft.number} expires on {self.rec.valid_until}: no answer yet",
                    amount=self.rec.total, candidate_user=self.rec.owner, due_hours=48))
        try:
            await workflow.wait_condition(self._answered, timeout=max(expires - workflow.now(), timedelta(seconds=1)))
        except TimeoutError:
            await workflow.wait_condition(lambda: not self.accepting)  # a yes being recorded as time ran out
        await run(ApprovalActivities.close_open_tasks, f"{wf_id}:reminder", approval_rules.TaskStatus.COMPLETED,
                  "quotation answered or expired")

    async def _write_end(self, status: str, reason: str) -> None:
        assert self.draft is not None
        await run(SalesActivities.set_quotation_status, self.draft.number, workflow.info().workflow_id, status, True,
                  reason)

    @workflow.signal
    def withdraw(self, reason: str) -> None:
        """From the opportunity: it was lost, or another quotation won it. The first reason stands."""
        if self.withdrawn is None:
            self.withdrawn = reason

    def _may_answer(self, cmd: rules.AcceptCommand, answer: Literal["accept", "reject"]) -> None:
        assert self.draft is not None
        with refusing():
            rules.check_may_answer(cmd.actor, self.draft.number, answer, cmd.reason,
                                   owner=self.rec.owner if self.rec else None, status=self.status,
                                   valid_until=self.rec.valid_until if self.rec else None, today=workflow.now().date(),
                                   answered=self.answer, answered_by=self.answered_by, accepting=self.accepting,
                                   withdrawn=self.withdrawn)

    @workflow.update
    async def accept(self, cmd: rules.AcceptCommand) -> rules.Accepted:
        """Recorded under the opportunity's lock before it counts: a lost opportunity, or another of its
        quotations accepted first, fails this Update and changes nothing."""
        self._may_accept(cmd)
        assert self.draft is not None
        self.accepting = True
        try:
            await workflow.wait_condition(lambda: self.on_record)
            decision: rules.CreditDecision = await run(SalesActivities.record_acceptance, self.draft.number,
                                                       workflow.info().workflow_id, self.draft.created_by)
            self.credit_steps, self.credit_hold = decision.steps, decision.on_hold
            self.credit_over = decision.over_limit
        finally:
            self.accepting = False
        self.answer, self.answered_by = "accept", cmd.actor.username
        if self.credit_steps:
            self.status = Status.PENDING_CREDIT_APPROVAL
        await workflow.wait_condition(lambda: self.status in (Status.ACCEPTED, Status.PENDING_CREDIT_APPROVAL,
                                                              Status.REJECTED))
        return rules.Accepted(status=self.status, sales_order_id=self.order)

    @accept.validator
    def _may_accept(self, cmd: rules.AcceptCommand) -> None:
        self._may_answer(cmd, "accept")

    @workflow.update
    async def reject(self, cmd: rules.AcceptCommand) -> rules.Accepted:
        self._may_reject(cmd)
        self.answer, self.answered_by, self.reason = "reject", cmd.actor.username, cmd.reason
        await workflow.wait_condition(lambda: self.status == Status.REJECTED)
        return rules.Accepted(status=self.status)

    @reject.validator
    def _may_reject(self, cmd: rules.AcceptCommand) -> None:
        self._may_answer(cmd, "reject")
