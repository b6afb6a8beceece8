"""Production orders (生产任务单): progress, material issue, change requests and costing. Pure rules.

Material issue, by the BOM's method:
- `kitted` (配套领料): the whole kit (each component's `need(qty)`, scrap included) is issued at release;
- `backflush` (倒冲领料): nothing at release; each progress report consumes what the units made so far
  (good and scrapped) need, minus what was consumed before — counted on the running total, so rounding
  never drifts and the last report leaves the order's consumption exactly `need(made)`.
An order is released only when its full kit is on hand (free stock: on hand − reserved), for either
method, so a backflush never finds its material gone half way; if it is gone anyway (taken by hand), the
report is refused (Conflict) and nothing changes.

Actual cost (实际成本): material at its moving-average value when issued + labour hours × the BOM's labour
rate + labour hours × its overhead rate. It builds up in work in progress; each finished-goods receipt
takes `wip × good / still to make` out of it (the last one takes what is left), so scrap and every cost
end up in the good units, and the finished goods enter stock at actual cost. Variances against standard
(standard quantity of the units made × standard cost; standard hours × rate) are reported per order.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain import permissions
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.core.limits import MAX_HOURS_PER_REPORT, MAX_HOURS_PER_UNIT, MAX_QTY
from domain.core.money import money, qty_str
from domain.core.numbers import PlainDecimal
from domain.manufacturing.bom import BomLine, need
from domain.org.people import Actor
from domain.production import scrap
from domain.purchasing.rules import RequisitionDraft

CENT4 = Decimal("0.0001")
ZERO = Decimal(0)
IssueMethod = Literal["kitted", "backflush"]


class ProductionStatus(StrEnum):
    """A production order's status (its row's `status`; equal to the string stored there)."""

    WAITING_MATERIAL = "waiting_material"
    RELEASED = "released"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # a status of the table since it was made; no process sets it yet


OPEN_STATUSES = (ProductionStatus.WAITING_MATERIAL, ProductionStatus.RELEASED)


class ProgressIn(BaseModel):
    """A progress report: good units finished, labour hours spent and units scrapped since the last one."""

    model_config = ConfigDict(extra="forbid")

    completed_qty: PlainDecimal = Field(default=ZERO, ge=0, le=MAX_QTY, decimal_places=4)
    labour_hours: PlainDecimal = Field(default=ZERO, ge=0, le=MAX_HOURS_PER_REPORT, decimal_places=4)
    scrap_qty: PlainDecimal = Field(default=ZERO, ge=0, le=MAX_QTY, decimal_places=4)
    scrap_reason: str = Field(default="", max_length=40)  # a code of domain.production.scrap (issue 20)

    @model_validator(mode="after")
    def _something(self) -> ProgressIn:
        if not (self.completed_qty or self.labour_hours or self.scrap_qty):
            raise ValueError("a progress report needs a completed quantity, labour hours or scrap above zero")
        scrap.check_reason(self.scrap_qty, self.scrap_reason)
        return self


class ChangeIn(BaseModel):
    """A change request (生产任务变更): a new quantity and/or a new due date, and why."""

    model_config = ConfigDict(extra="forbid")

    qty: PlainDecimal | None = Field(default=None, gt=0, le=MAX_QTY, decimal_places=4)
    due_date: date | None = None
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _something(self) -> ChangeIn:
        if self.qty is None and self.due_date is None:
            raise ValueError("a change request needs a new quantity or a new due date")
        if not self.reason.strip():
            raise ValueError("a change request needs a reason")
        return self


class ProductionRef(BaseModel):
    """What a ProductionOrder process starts from (the row is already recorded, in the batch that made it)."""

    number: str
    sku: str
    qty: Decimal
    issue_method: IssueMethod
    due_date: date
    planner: str
    sales_order: str | None = None
    salesperson: str | None = None
    notify: list[str] = []  # workflow ids told when finished goods arrive (the parent order, the sales order)
    # Made to stock through the API (issue 20): the process records the order itself first, released then.
    to_stock: bool = False
    release_date: date | None = None


class ProductionState(BaseModel):
    number: str
    sku: str
    qty: Decimal
    completed_qty: Decimal = ZERO
    scrap_qty: Decimal = ZERO
    issue_method: IssueMethod
    status: ProductionStatus = ProductionStatus.WAITING_MATERIAL
    due_date: date
    wait_reason: str = ""
    quarantined: list[str] = []  # the inspection lots a progress report put in quarantine (final inspection)


# Activity results. Field names are those of the dicts they replaced: recorded histories and results stored under
# an idempotency key decode into them.

class SupplyPlan(BaseModel):
    """plan_order: the MRP run stored for a sales order, and how many planned orders it has."""

    run_id: str
    planned: int


class SupplyBatch(BaseModel):
    """create_supply: a run's planned orders as production orders (their processes to start) and requisitions
    (one per supplier, recorded by their Purchase processes)."""

    production: list[ProductionRef]
    purchases: list[RequisitionDraft]


class ReleaseOutcome(BaseModel):
    """try_release: the order's status after the attempt, and what it waits for (empty once released)."""

    status: ProductionStatus
    wait_reason: str


class LateNotice(BaseModel):
    """mark_late: the notice of a late order, and the salesperson of its sales order (if any) to tell."""

    notice: str
    salesperson: str | None


class Delivered(BaseModel):
    """deliver: what one delivery took (net of tax), its cost of goods sold and margin; with its delivery note and
    the invoice issued for it (None in a result stored before invoices existed). `completed`: nothing more to
    deliver on the order."""

    revenue: Decimal
    cost: Decimal
    margin: Decimal
    note: str | None = None
    invoice: str | None = None
    invoice_process_id: str | None = None
    tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    currency: str = ""
    due_on: date | None = None
    customer: str = ""
    owner: str = ""
    completed: bool = True
    touched: list[str] = []  # processes of other invoices the party's unused credit was set against


def _fmt(q: Decimal) -> str:
    return f"{q.normalize():f}"


def check_bounds(state: ProductionState, p: ProgressIn) -> None:
    """What one report may carry (issue 15), against what the order still has to make (its quantity less the
    good units made so far; scrap does not count against it: scrapped units are made again):
    - the units worked in the report, good and scrapped, are at most what is still to make;
    - its labour hours are at most MAX_HOURS_PER_UNIT per unit still to make (and MAX_HOURS_PER_REPORT in all,
      the field's own bound)."""
    left = state.qty - state.completed_qty
    worked = p.completed_qty + p.scrap_qty
    if p.scrap_qty and worked > left:
        raise Invalid(f"production order {state.number}: {qty_str(p.completed_qty)} good and {qty_str(p.scrap_qty)} "
                      f"scrapped make {qty_str(worked)} units worked, but only {qty_str(left)} are left to make; "
                      f"report the units made again after a scrap in a later report")
    cap = MAX_HOURS_PER_UNIT * left
    if p.labour_hours > cap:
        raise Invalid(f"production order {state.number}: {qty_str(p.labour_hours)} labour hours in one report is "
                      f"more than {qty_str(MAX_HOURS_PER_UNIT)} hours for each of the {qty_str(left)} units left to "
                      f"make ({qty_str(cap)} hours)")


def check_progress(state: ProductionState, p: ProgressIn, *, bounded: bool = True) -> ProductionState:
    """The state after the report, or why it cannot be taken (nothing changes then). `bounded=False` only
    replays reports a process took before the bounds of check_bounds existed."""
    if state.status == ProductionStatus.WAITING_MATERIAL:
        raise Conflict(f"production order {state.number} is not released yet: {state.wait_reason or 'waiting for material'}")
    if state.status != ProductionStatus.RELEASED:
        raise Conflict(f"production order {state.number} is {state.status}; only a released order takes progress")
    done = state.completed_qty + p.completed_qty
    if done > state.qty:
        raise Conflict(f"production order {state.number}: {_fmt(p.completed_qty)} more would make {_fmt(done)} of "
                       f"{_fmt(state.qty)} (only {_fmt(state.qty - state.completed_qty)} left to make)")
    if bounded:
        check_bounds(state, p)
    if state.scrap_qty + p.scrap_qty > MAX_QTY:
        raise Invalid("the scrap quantity is out of range")
    return state.model_copy(update={"completed_qty": done, "scrap_qty": state.scrap_qty + p.scrap_qty,
                                    "status": ProductionStatus.COMPLETED if done == state.qty
                                    else ProductionStatus.RELEASED})


def check_change(state: ProductionState, change: ChangeIn) -> None:
    if state.status not in OPEN_STATUSES:
        raise Conflict(f"production order {state.number} is {state.status}: it cannot change any more")
    if change.qty is not None:
        if change.qty < state.completed_qty or (change.qty == state.completed_qty and change.qty != state.qty):
            raise Conflict(f"production order {state.number}: {_fmt(state.completed_qty)} are already made; "
                           f"the new quantity must be above that")
        if state.issue_method == "kitted" and state.status == ProductionStatus.RELEASED and change.qty != state.qty:
            raise Conflict(f"production order {state.number}: its kit was issued for {_fmt(state.qty)}; "
                           f"a kitted order changes quantity only before release")


def may_request_change(actor: Actor, status: str, *, change_open: bool) -> bool:
    """The ProductionOrder process's rule for asking a change, as a yes or no: whoever may change production
    orders, on an open order, while no other change of it waits for approval (`change_open`). The process also
    needs someone to approve it (services.change_steps) and a change the order can take (check_change)."""
    return (permissions.may(actor.roles, permissions.Action.PRODUCTION_CHANGE) and status in OPEN_STATUSES
            and not change_open)


def check_may_report_progress(actor: Actor, state: ProductionState, progress: ProgressIn, *,
                              bounded: bool = True) -> ProductionState:
    """May `actor` report `progress` on the order in `state`? Whoever may report production progress, within what
    `check_progress` takes: the state after the report."""
    if not permissions.may(actor.roles, permissions.Action.PRODUCTION_REPORT):
        raise Forbidden("only a planner, the warehouse or an admin can report production progress")
    return check_progress(state, progress, bounded=bounded)


def check_may_request_change(actor: Actor, state: ProductionState, change: ChangeIn, *, change_open: bool) -> None:
    """May `actor` ask for `change` of the order in `state`? Whoever may ask to change production orders, one change
    at a time (`change_open`: one waits for its approval), one the order can still take (`check_change`)."""
    permissions.check(actor.roles, permissions.Action.PRODUCTION_CHANGE,
                      "only a planner or an admin can ask to change a production order")
    if change_open:
        raise Conflict(f"production order {state.number} already has a change waiting for approval")
    check_change(state, change)


def consumption(line: BomLine, made_before: Decimal, made_now: Decimal) -> Decimal:
    """What a backflush report takes of a component: need(all made so far) − need(made before)."""
    return need(made_before + made_now, line) - need(made_before, line)


def receipt_value(wip_value: Decimal, good_qty: Decimal, still_to_make: Decimal) -> Decimal:
    """The part of work in progress that `good_qty` finished units take, to the cent as stock takes it in (all of
    it with the last ones: work in progress holds whole cents, see posted_cost)."""
    if good_qty <= 0:
        return ZERO
    if good_qty >= still_to_make:
        return wip_value
    return money(wip_value * good_qty / still_to_make)


def posted_cost(hours: Decimal, rate: Decimal) -> Decimal:
    """What `hours` of labour (or of overhead) at `rate` put into work in progress: to the cent, as every posting
    and every stock move is (material comes in at its stock moves' values), so work in progress holds whole cents
    and the last finished goods take all of it."""
    return money(hours * rate)


def round_cost(v: Decimal) -> Decimal:
    """A cost to four places (CENT4), half up: standards and variances, which are reported, not posted."""
    return v.quantize(CENT4, rounding=ROUND_HALF_UP)


class MaterialUse(BaseModel):
    sku: str
    per_unit: Decimal
    scrap_pct: Decimal
    issued_qty: Decimal
    issued_value: Decimal
    standard_cost: Decimal


def variances(materials: list[MaterialUse], completed_qty: Decimal, labour_hours: Decimal,
              std_labour_hours: Decimal, labour_rate: Decimal, overhead_rate: Decimal) -> dict[str, Decimal]:
    """Actual against standard for the units made (positive: cost more than standard).
    material price = Σ (issued value − issued qty × standard cost);
    material usage = Σ (issued qty − standard qty of the units made, scrap allowance included) × standard cost;
    labour = (actual hours − standard hours) × rate; overhead = (actual hours − standard hours) × overhead rate."""
    price = sum((m.issued_value - m.issued_qty * m.standard_cost for m in materials), ZERO)
    usage = sum(((m.issued_qty - need(completed_qty, BomLine(m.sku, m.per_unit, m.scrap_pct))) * m.standard_cost
                 for m in materials), ZERO)
    extra_hours = labour_hours - std_labour_hours * completed_qty
    return {"material_price": round_cost(price), "material_usage": round_cost(usage),
            "labour": round_cost(extra_hours * labour_rate), "overhead": round_cost(extra_hours * overhead_rate)}


def shortage_reason(short: dict[str, Decimal]) -> str:
    return "waiting for material: " + ", ".join(f"{sku} short {_fmt(q)}" for sku, q in sorted(short.items()))
