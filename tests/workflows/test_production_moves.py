"""Moving a production order (issue 20, capacity) through its process, on the time-skipping server: the Update
records the new dates at once, the lateness timer follows the new due date (a late order moved later is no longer
late, and becomes late again past its new date), and whoever may not move it is refused with nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.platform import Platform
from api.starters import production_moves, production_order
from domain.approvals.tables import Task
from domain.core.errors import Forbidden
from domain.production import services as production_svc
from domain.production.reschedule import RescheduleIn
from tests.helpers import actor, eventually


def open_alerts(number: str):  # type: ignore[no-untyped-def]
    return lambda s: s.execute(select(Task).where(Task.business_key == number, Task.status == "open",
                                                  Task.kind == "alert")).scalars().all()


async def test_a_late_order_moved_later_is_on_time_until_its_new_date(worker, db, task_queue, time_env):
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    carol = actor(db, "carol")
    today = datetime.now(UTC).date()
    made = await production_order.for_stock(p, carol, "FAN-HOUSING", Decimal(2), today + timedelta(days=3))
    number = made["production_order_id"]
    await eventually(db, lambda s: production_svc.order(s, number).status == "released")
    release = await p.read(lambda s: production_svc.order(s, number).release_date)

    await time_env.sleep(timedelta(days=5))
    await eventually(db, open_alerts(number))
    assert await p.read(lambda s: production_svc.order(s, number).notice)

    with pytest.raises(Forbidden):
        await production_moves.reschedule(p, actor(db, "alice"), number,
                                          RescheduleIn(release_date=release, due_date=today + timedelta(days=20)))
    st = await production_moves.reschedule(p, carol, number, RescheduleIn(release_date=release,
                                                                          due_date=today + timedelta(days=20),
                                                                          reason="after the rush"))
    assert st.due_date == today + timedelta(days=20)
    await eventually(db, lambda s: not open_alerts(number)(s) and not production_svc.order(s, number).notice)

    await time_env.sleep(timedelta(days=17))
    await eventually(db, open_alerts(number))
