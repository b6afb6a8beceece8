"""kill -9 of the worker process while a batch release is making a production order, after the order's transaction
committed and before Temporal heard of it: a normal worker takes the release over and every planned order becomes
an order exactly once (the default run's crash variant is tests/workflows/test_mrp_release.py, with activities that
crash after their commit; this one kills the real worker process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.starters import mrp_release
from domain.planning import services as planning
from domain.planning.release_tables import PlannedOrderRelease
from domain.processes.tables import Process
from domain.production.tables import ProductionOrder
from tests.faults.conftest import Faults
from tests.helpers import actor, eventually
from tests.unit.test_planning_release import open_orders

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # a kill per kind of effect stays in make test; this is one more


async def test_kill_during_a_release_makes_each_planned_order_once(faults: Faults) -> None:
    f, db = faults, faults.db
    today = datetime.now(UTC).date()
    open_orders(db, 4, start=today + timedelta(days=30))
    with db.write() as s:
        run = planning.run_open_orders(s, as_of=today, actor="carol")
        number, planned = run.number, run.planned_count
    await f.start_crashing("make_production_order", match=f"{number}")
    process_id, progress = await mrp_release.release_run(f.platform, actor(db, "carol"), number, None)
    assert progress.total == planned == 12
    crashed = await f.kill_after_commit()
    assert crashed["workflow_id"] == process_id
    with db.read() as s:  # the first production order is there while the process still waits for the answer
        assert s.execute(select(func.count()).select_from(ProductionOrder)).scalar_one() == 1
    await f.recover()
    await eventually(db, lambda s: (p := s.get(Process, process_id)) is not None and p.status == "completed",
                     limit=90)
    with db.read() as s:
        made = s.execute(select(func.count()).select_from(ProductionOrder)).scalar_one()
        claims = s.execute(select(PlannedOrderRelease.kind, PlannedOrderRelease.released_as)).all()
    assert len(claims) == 12 and all(c.released_as for c in claims)
    assert made == sum(1 for c in claims if c.kind == "production") == len({c.released_as for c in claims
                                                                            if c.kind == "production"})
    await f.assert_redelivered()
