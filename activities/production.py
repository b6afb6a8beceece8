"""Activities of order fulfilment's production path and of the ProductionOrder process."""

from __future__ import annotations

from datetime import date
from typing import Any

from temporalio import activity

from activities import business_errors
from domain import permissions
from domain.approvals import rules as approval_rules
from domain.approvals import services as approvals
from domain.core import records as common
from domain.core.db import Database
from domain.core.errors import Invalid
from domain.org import services as org
from domain.planning import services as planning
from domain.processes import ids
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.production import making, rules
from domain.production import reschedule as moves
from domain.production import services as production
from domain.purchasing import rules as purchasing_rules
from domain.sales.delivery import DeliveryLineIn

MAX_SUPPLY_PROCESSES = 1000  # per sales order: an order needing more is split (Temporal's child limit is 2,000)


class ProductionActivities:
    def __init__(self, db: Database):
        self.db = db

    @activity.defn
    @business_errors
    def plan_order(self, number: str, process_id: str, as_of: date) -> rules.SupplyPlan:
        """Kitting, then MRP for what the order still lacks; the run is stored (once per order)."""
        with self.db.write() as s:
            def effect() -> dict[str, Any]:
                kit = planning.order_kitting(s, number)
                short = [f"{ln['sku']} short {ln['shortage'].normalize():f}" for ln in kit["lines"] if ln["shortage"]]
                processes.advance(s, process_id, "kitting", detail=("; ".join(short) or "kit complete")[:300])
                run = planning.plan_for_order(s, number, as_of=as_of, actor="system")
                if len(run.result["planned_orders"]) > MAX_SUPPLY_PROCESSES:
                    raise Invalid(f"sales order {number} needs {len(run.result['planned_orders'])} planned orders; "
                                  f"split it (at most {MAX_SUPPLY_PROCESSES} per order)")
                processes.advance(s, process_id, "MRP", detail=f"run {run.number}: {run.planned_count} planned "
                                                               f"order(s), {run.exception_count} exception(s)")
                if not run.planned_count:
                    processes.advance(s, process_id, "waiting for supply",
                                      detail="supply already on its way covers what is short")
                return rules.SupplyPlan(run_id=run.number, planned=run.planned_count).model_dump(mode="json")

            return rules.SupplyPlan.model_validate(common.once(s, f"{process_id}:plan", effect))  # a retry: stored

    @activity.defn
    @business_errors
    def planning_failed(self, process_id: str, message: str) -> None:
        """Planning was refused (a manufactured item without a BOM, say): the monitor says why."""
        with self.db.write() as s:
            processes.advance(s, process_id, "planning failed", detail=message[:300])

    @activity.defn
    @business_errors
    def create_supply(self, number: str, run_id: str, process_id: str, id_prefix: str
                      ) -> tuple[list[rules.ProductionRef], list[purchasing_rules.RequisitionDraft]]:
        """Production orders and requisitions of the run, in one batch (生产任务单批量新增)."""
        with self.db.write() as s:
            people = org.people(s)
            role = permissions.duty_role(permissions.Duty.PRODUCTION_PLANNER)
            planner = next((p for p in sorted(people) if role in people[p].roles and people[p].active),
                           permissions.FALLBACK_USER)
            out = planning.create_supply(s, number, run_id, planner=planner, id_prefix=id_prefix,
                                           notify_order=process_id, key=f"{process_id}:supply")
            made, buys = out.production, out.purchases
            processes.advance(s, process_id, "waiting for supply",
                              detail=f"{len(made)} production order(s), {len(buys)} purchase requisition(s)")
            return made, buys

    @activity.defn
    @business_errors
    def record_stock_order(self, ref: rules.ProductionRef, process_id: str) -> None:
        """A production order made to stock (no sales order): its row, materials and monitor entry, once."""
        with self.db.write() as s:
            making.record_for_stock(s, ref, process_id)

    @activity.defn
    @business_errors
    def try_release(self, number: str, key: str) -> rules.ReleaseOutcome:
        with self.db.write() as s:
            return production.try_release(s, number, key)

    @activity.defn
    @business_errors
    def report_progress(self, number: str, progress: rules.ProgressIn, actor: str, key: str
                        ) -> rules.ProductionState:
        with self.db.write() as s:
            return production.report_progress(s, number, progress, actor=actor, key=key)

    @activity.defn
    @business_errors
    def change_steps(self, number: str, requester: str) -> list[approval_rules.ChainStep]:
        """The change's approval chain, by the order's value at standard cost."""
        with self.db.read() as s:
            return production.change_steps(s, number, requester)

    @activity.defn
    @business_errors
    def apply_change(self, number: str, change: rules.ChangeIn, key: str) -> rules.ProductionState:
        with self.db.write() as s:
            return production.apply_change(s, number, change, key)

    @activity.defn
    @business_errors
    def reschedule(self, number: str, move: moves.RescheduleIn, actor: str, today: date, key: str
                   ) -> rules.ProductionState:
        """A planner's move of the order's dates, once per key."""
        with self.db.write() as s:
            return moves.reschedule(s, number, move, actor=actor, today=today, key=key)

    @activity.defn
    @business_errors
    def mark_late(self, number: str, process_id: str, key: str) -> None:
        """The order is past due: an alert for the planners and a notice for the salesperson (进度分享)."""
        with self.db.write() as s:
            late = production.mark_late(s, number)
            approvals.open_task(s, approval_rules.TaskSpec(
                task_id=f"{key}-p", workflow_id=f"{process_id}:late", process_id=process_id,
                process_type="production_order", kind="alert", title=late.notice[:200], business_key=number,
                candidate_role=permissions.duty_role(permissions.Duty.PRODUCTION_LATE), priority=80, due_hours=24))
            if late.salesperson:
                approvals.open_task(s, approval_rules.TaskSpec(
                    task_id=f"{key}-s", workflow_id=f"{process_id}:late", process_id=process_id,
                    process_type="production_order", kind="notice", title=late.notice[:200], business_key=number,
                    candidate_user=late.salesperson, priority=60, due_hours=24))

    @activity.defn
    @business_errors
    def clear_late(self, number: str, process_id: str) -> None:
        with self.db.write() as s:
            production.clear_late(s, number)
            approvals.close_open_tasks(s, f"{process_id}:late", approval_rules.TaskStatus.COMPLETED,
                                       "production order completed")

    @activity.defn
    @business_errors
    def deliver_part(self, number: str, process_id: str, actor: str, lines: list[DeliveryLineIn] | None, on: date,
                     seq: int) -> rules.Delivered:
        """One delivery (the lines named, or everything still to deliver) with its delivery note and its invoice,
        in one transaction: a crash never leaves goods delivered and not invoiced. The invoice's process id is
        formed with the order's prefix (ids.invoice); the workflow starts that process."""
        with self.db.write() as s:
            out = production.deliver(s, number, actor=actor, key=f"{process_id}:delivery:{seq}", lines=lines, on=on,
                                     id_prefix=ids.prefix_of_sales_order(process_id))
            billed = f"; invoice {out.invoice}" if out.invoice else ""
            if out.completed:
                processes.advance(s, process_id, "completed", detail=f"delivered ({out.note}{billed}); margin "
                                  f"{out.margin}", close=True, status=ProcessStatus.COMPLETED)
            else:
                processes.advance(s, process_id, "partially delivered", detail=f"{out.note}{billed}")
            return out

    @activity.defn
    @business_errors
    def deliver(self, number: str, process_id: str, actor: str) -> rules.Delivered:
        """The whole order at once: what processes started before partial deliveries call."""
        with self.db.write() as s:
            out = production.deliver(s, number, actor=actor, key=f"{process_id}:deliver")
            processes.advance(s, process_id, "completed", detail=f"delivered; margin {out.margin}", close=True,
                              status=ProcessStatus.COMPLETED)
            return out
