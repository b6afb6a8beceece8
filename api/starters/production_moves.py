"""Moving a production order (issue 20, capacity): the planner's new release and due dates go to the order's
process as an Update (workflows/production_order.py `reschedule`), which records them; checked here first against
the database so a refusal is a 4xx with its sentence and nothing is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from api.platform import Platform
from domain.core.limits import check_plan_date
from domain.org.people import Actor
from domain.production import reschedule as moves
from domain.production import rules as production
from domain.production import services as production_svc
from workflows.production_order import ProductionOrder, RescheduleCommand


async def reschedule(platform: Platform, actor: Actor, number: str, move: moves.RescheduleIn
                     ) -> production.ProductionState:
    today = datetime.now(UTC).date()
    check_plan_date(move.due_date, today, "the new due date")

    def load(s: Session) -> str:
        moves.check(s, number, move, today)
        return production_svc.order(s, number).process_id

    handle = platform.handle(await platform.read(load))
    return await platform.update(handle, ProductionOrder.reschedule,
                                 RescheduleCommand(actor=actor, move=move, today=today))
