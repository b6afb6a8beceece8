"""The MrpRelease process on the time-skipping server with the real worker: a release makes each planned order
once although every one of its steps crashes on its first attempts (before its transaction, or after it committed
with the reply lost), and a refused claim fails the process with the sentence, nothing stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import all_activities
from activities.mrp_release import MrpReleaseActivities
from api.platform import Platform
from api.starters import mrp_release
from domain.core.db import Database
from domain.core.errors import Conflict
from domain.planning import release
from domain.planning.release_rules import ReleasePlan, ReleaseProgress, ReleaseRequest
from domain.planning.release_tables import PlannedOrderRelease
from domain.processes.tables import Process
from domain.production import rules as production_rules
from domain.production.tables import ProductionOrder
from domain.purchasing import rules as purchasing_rules
from domain.purchasing.tables import PurchaseRequisition
from tests.conftest import terminate_processes
from tests.helpers import actor, eventually
from tests.unit.test_planning_release import open_orders
from worker import RUNNER, WORKFLOWS
from workflows.common import search_attributes

CRASHES = 2
CRASHING = ("claim_planned_orders", "make_production_order", "make_requisition", "finish_release")


class CrashingRelease:
    """MrpReleaseActivities whose every call crashes on its first CRASHES attempts; `after_effect`: after the real
    activity committed (the reply lost), else before it ran."""

    def __init__(self, db: Database, after_effect: bool):
        self.real = MrpReleaseActivities(db)
        self.after_effect = after_effect
        self.crashed: Counter[str] = Counter()

    def _call(self, name: str, fn: Any, *args: Any) -> Any:
        if activity.info().attempt <= CRASHES:
            self.crashed[name] += 1
            if self.after_effect:
                fn(*args)
            raise RuntimeError(f"simulated crash of {name}")
        return fn(*args)

    def activities(self) -> list[Any]:
        real = self.real

        @activity.defn(name="claim_planned_orders")
        def claim(req: ReleaseRequest, process_id: str) -> ReleasePlan:
            return self._call("claim_planned_orders", real.claim_planned_orders, req, process_id)  # type: ignore[no-any-return]

        @activity.defn(name="make_production_order")
        def make_production(req: ReleaseRequest, n: int, process_id: str, prefix: str
                            ) -> production_rules.ProductionRef:
            return self._call("make_production_order", real.make_production_order, req, n,  # type: ignore[no-any-return]
                              process_id, prefix)

        @activity.defn(name="make_requisition")
        def make_requisition(req: ReleaseRequest, ns: list[int], process_id: str, prefix: str, seq: int
                             ) -> purchasing_rules.RequisitionDraft:
            return self._call("make_requisition", real.make_requisition, req, ns, process_id,  # type: ignore[no-any-return]
                              prefix, seq)

        @activity.defn(name="finish_release")
        def finish(req: ReleaseRequest, process_id: str) -> ReleaseProgress:
            return self._call("finish_release", real.finish_release, req, process_id)  # type: ignore[no-any-return]

        return [claim, make_production, make_requisition, finish]


def _name(fn: object) -> str:
    return getattr(fn, "__temporal_activity_definition").name  # type: ignore[no-any-return]


@pytest_asyncio.fixture(params=[False, True], ids=["crash-before-commit", "crash-after-commit"])
async def crashing_worker(request: Any, time_env: WorkflowEnvironment, db: Database, task_queue: str
                          ) -> AsyncIterator[tuple[Client, CrashingRelease]]:
    crashing = CrashingRelease(db, after_effect=request.param)
    acts = [a for a in all_activities(db) if _name(a) not in CRASHING] + crashing.activities()
    with ThreadPoolExecutor(max_workers=8) as pool:
        async with Worker(time_env.client, task_queue=task_queue, workflows=WORKFLOWS, workflow_runner=RUNNER,
                          activities=acts, activity_executor=pool, max_concurrent_activities=8):
            yield time_env.client, crashing
            await terminate_processes(time_env.client, db)


def _count(db: Database, model: type, *where: Any) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


async def test_a_release_with_crashing_steps_makes_each_planned_order_once(crashing_worker: Any, db: Database,
                                                                           task_queue: str) -> None:
    client, crashing = crashing_worker
    p = Platform(client, db, task_queue, id_prefix=f"{task_queue}/")
    open_orders(db, 4, start=date.today() + timedelta(days=30))
    with db.write() as s:
        from domain.planning import services as planning
        run = planning.run_open_orders(s, as_of=date.today(), actor="carol")
        planned = planning.run_view(run)["planned_orders"]
        number = run.number
    process_id, progress = await mrp_release.release_run(p, actor(db, "carol"), number, None)
    assert progress.total == len(planned) >= 12
    proc = await eventually(db, lambda s: (x := s.get(Process, process_id)) is not None and x.status == "completed"
                            and x, limit=30)
    assert proc.steps[-1].detail.startswith(f"{len(planned)} of {len(planned)} created")
    assert set(crashing.crashed) == set(CRASHING)  # every step crashed, and was retried
    making = [x for x in planned if x["kind"] == "production"]
    assert _count(db, PlannedOrderRelease) == len(planned)
    assert _count(db, PlannedOrderRelease, PlannedOrderRelease.released_as.is_(None)) == 0
    assert _count(db, ProductionOrder) == len(making)
    assert _count(db, Process, Process.type == "production_order") == len(making)
    with db.read() as s:
        prs = set(s.execute(select(PlannedOrderRelease.released_as).where(
            PlannedOrderRelease.kind == "purchase")).scalars())
    await eventually(db, lambda s: _count(db, PurchaseRequisition) == len(prs), limit=30)
    # the process's own answer agrees
    result = await client.get_workflow_handle(process_id).result()
    assert (result["made"], result["total"], result["done"]) == (len(planned), len(planned), True)


async def test_a_claim_refused_fails_the_release_and_stores_nothing(worker: Client, db: Database,
                                                                    task_queue: str) -> None:
    """Two releases checked at once: the second's claim finds the first's, and is refused with its sentence."""
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    open_orders(db, 1, start=date.today() + timedelta(days=30))
    with db.write() as s:
        from domain.planning import services as planning
        number = planning.run_open_orders(s, as_of=date.today(), actor="carol").number
    with db.write() as s:
        late = release.allocate(s, number, [f"{number}-1"], "carol")  # checked before the first one claims
    await mrp_release.release_run(p, actor(db, "carol"), number, [f"{number}-1", f"{number}-2"])
    from domain.processes import ids
    from workflows.mrp_release import MrpRelease
    handle = await p.start(MrpRelease.run, late, workflow_type="MrpRelease", id=ids.mrp_release(late.number, p.id_prefix),
                           search_attributes=search_attributes("mrp_release", late.number, "carol"))
    with pytest.raises(Conflict, match=f"{number}-1 \\(.*\\)"):
        await p.recorded(handle, MrpRelease.claimed, ReleaseProgress)
    assert _count(db, PlannedOrderRelease, PlannedOrderRelease.release_number == late.number) == 0
