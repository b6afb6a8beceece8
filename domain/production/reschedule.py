"""Moving a production order (the planner levels the load): new release and due dates for an open order, taken by
its ProductionOrder process (an Update, so its lateness timer follows the new due date) and recorded here once per
key, with an audit entry (who, before, after, why).

What a move may do:
- only an open order moves (waiting for material or released); a released order has started: its release date
  stays, only its due date moves;
- the release date is not after the due date, and the due date is not in the past;
- an order made for a sales order that wants its goods on a date does not move past that date: the customer would
  wait (a later date is a change request, which goes to approval)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from domain import permissions
from domain.audit import services as audit
from domain.core import records as common
from domain.core.errors import Conflict, Invalid
from domain.org.people import Actor
from domain.production import rules
from domain.production.services import order, state
from domain.sales.tables import SalesOrder


class RescheduleIn(BaseModel):
    """The order's new dates (a released order keeps its release date: give it again)."""

    model_config = ConfigDict(extra="forbid")

    release_date: date
    due_date: date
    reason: str = Field(default="", max_length=500)


def check_dates(number: str, status: str, old_release: date | None, move: RescheduleIn, today: date) -> None:
    """The rules of the module's docstring that need no database; Conflict/Invalid with a sentence."""
    if status not in rules.OPEN_STATUSES:
        raise Conflict(f"production order {number} is {status}: only an open order can move")
    if move.release_date > move.due_date:
        raise Invalid(f"the release date {move.release_date} is after the due date {move.due_date}")
    if move.due_date < today:
        raise Invalid(f"the due date {move.due_date} is in the past")
    if (status == rules.ProductionStatus.RELEASED and old_release is not None
            and move.release_date != old_release):
        raise Conflict(f"production order {number} is released already (release date {old_release}): "
                       f"only its due date can move")


def check_may_reschedule(actor: Actor, st: rules.ProductionState, move: RescheduleIn) -> None:
    """The ProductionOrder process's validator: who may move it, an open order, sound dates (the rest is checked
    where it is recorded, against the database)."""
    permissions.check(actor.roles, permissions.Action.PRODUCTION_RESCHEDULE,
                      "only a planner or an admin can move a production order")
    if st.status not in rules.OPEN_STATUSES:
        raise Conflict(f"production order {st.number} is {st.status}: only an open order can move")
    if move.release_date > move.due_date:
        raise Invalid(f"the release date {move.release_date} is after the due date {move.due_date}")


def check_sales_order(session: Session, number: str, sales_order: str | None, due: date) -> None:
    if sales_order is None:
        return
    so = session.query(SalesOrder).filter(SalesOrder.number == sales_order).one_or_none()
    if so is not None and so.requested_date is not None and due > so.requested_date:
        raise Conflict(f"production order {number} serves sales order {sales_order}, wanted on {so.requested_date}: "
                       f"a due date of {due} would make it late; ask for a change instead (it goes to approval)")


def check(session: Session, number: str, move: RescheduleIn, today: date) -> None:
    """Every rule, against the order as recorded (the API asks before it sends the move to the process)."""
    row = order(session, number)
    check_dates(number, row.status, row.release_date, move, today)
    check_sales_order(session, number, row.sales_order_number, move.due_date)


def reschedule(session: Session, number: str, move: RescheduleIn, *, actor: str, today: date, key: str
               ) -> rules.ProductionState:
    """Record the move once per key: the order's dates, a line on its process's trail, an audit entry."""

    def effect() -> dict[str, Any]:
        row = order(session, number, lock=True)
        check_dates(number, row.status, row.release_date, move, today)
        check_sales_order(session, number, row.sales_order_number, move.due_date)
        before = {"release_date": row.release_date, "due_date": row.due_date}
        row.release_date, row.due_date = move.release_date, move.due_date
        after = {"release_date": row.release_date, "due_date": row.due_date}
        audit.record(session, actor, "production_order", number, before,
                     {**after, "reason": move.reason.strip()} if move.reason.strip() else after, action="moved")
        session.flush()
        return state(row).model_dump(mode="json")

    return rules.ProductionState.model_validate(common.once(session, key, effect))  # a retry: the stored dict
