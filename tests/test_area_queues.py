"""Task queues per area (settings `area_queues`, `worker_areas`): the pure mapping, the settings, and the
real worker set-up on the time-skipping server: each process on its area's queue, a cross-area child on
the child's area's queue, a worker of one area leaving the others' processes alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.platform import Platform
from api.starters import expense_claim
from domain.core.db import Database
from domain.expenses import services as expenses
from domain.expenses.tables import ExpenseClaim
from domain.processes import ids
from settings import Settings
from tests.conftest import terminate_processes
from tests.helpers import approve_chain, claim_lines, eventually
from tests.workflows.test_order_to_cost import order_fans, supply_of
from worker import WORKFLOWS, run_workers, worker_from_settings, worker_queues, workers_from_settings
from workflows.common import (
    AREAS,
    WORKFLOW_AREAS,
    area_queue,
    base_of_area_queue,
    cross_area_queue,
    parse_areas,
)

# --- the mapping (pure) ---------------------------------------------------------------------------


def test_every_process_has_an_area_and_approvals_follow_their_parent():
    names = {w.__name__ for w in WORKFLOWS}
    assert set(WORKFLOW_AREAS) == names - {"Approval"}
    assert set(WORKFLOW_AREAS.values()) == set(AREAS)
    assert WORKFLOW_AREAS["ExpenseClaim"] == "expenses" and WORKFLOW_AREAS["Purchase"] == "purchasing"
    assert {WORKFLOW_AREAS[t] for t in ("LeadToOrder", "Quotation", "OrderFulfilment")} == {"sales"}
    assert WORKFLOW_AREAS["ProductionOrder"] == "production"


def test_area_queue_names_and_parsing():
    assert area_queue("valueloop", "sales") == "valueloop-sales"
    assert base_of_area_queue("valueloop-sales", "sales") == "valueloop"
    assert base_of_area_queue("valueloop", "sales") is None
    assert base_of_area_queue("-sales", "sales") is None
    assert parse_areas("all") == AREAS
    assert parse_areas(" Production , expenses") == ("expenses", "production")  # canonical order
    with pytest.raises(ValueError, match=r"unknown area 'prod'.*expenses, purchasing, sales, production"):
        parse_areas("production,prod")
    with pytest.raises(ValueError, match="no area"):
        parse_areas(" , ")


def test_a_child_of_another_area_goes_to_its_queue_only_when_split():
    # Split on: the parent runs on its area's queue.
    assert cross_area_queue("vl-sales", "OrderFulfilment", "ProductionOrder") == "vl-production"
    assert cross_area_queue("vl-sales", "OrderFulfilment", "Purchase") == "vl-purchasing"
    # Same area, or an approval: the parent's queue (no task_queue given).
    assert cross_area_queue("vl-sales", "LeadToOrder", "Quotation") is None
    assert cross_area_queue("vl-sales", "Quotation", "OrderFulfilment") is None
    assert cross_area_queue("vl-expenses", "ExpenseClaim", "Approval") is None
    # Split off (histories recorded before the split, or the split never on): unchanged, no task_queue.
    assert cross_area_queue("vl", "OrderFulfilment", "ProductionOrder") is None
    assert cross_area_queue("vl-production", "OrderFulfilment", "Purchase") is None  # not its area's queue


# --- settings -------------------------------------------------------------------------------------


def test_settings_from_the_environment(monkeypatch):
    s = Settings(_env_file=None)
    assert (s.area_queues, s.worker_areas) == (False, "all")
    assert worker_queues(Settings(_env_file=None, task_queue="vl")) == ["vl"]
    monkeypatch.setenv("AREA_QUEUES", "true")
    monkeypatch.setenv("WORKER_AREAS", "sales,production")
    monkeypatch.setenv("TASK_QUEUE", "vl")
    s = Settings(_env_file=None)
    assert s.area_queues and s.polled_areas == ("sales", "production")
    assert worker_queues(s) == ["vl-sales", "vl-production"]
    monkeypatch.delenv("WORKER_AREAS")
    assert worker_queues(Settings(_env_file=None)) == [f"vl-{a}" for a in AREAS]


def test_an_unknown_area_is_refused_at_startup(monkeypatch):
    monkeypatch.setenv("WORKER_AREAS", "production,marketing")
    with pytest.raises(ValueError, match="unknown area 'marketing'"):
        Settings(_env_file=None)
    monkeypatch.delenv("WORKER_AREAS")
    # A base queue named like an area queue would be taken for one by its processes.
    with pytest.raises(ValueError, match="ends with '-sales'"):
        Settings(_env_file=None, task_queue="acme-sales")


async def test_one_worker_per_area_queue_sharing_one_pool(time_env: WorkflowEnvironment, fresh_db: Database):
    s = Settings(_env_file=None, task_queue="vl", area_queues=True, worker_areas="production,expenses",
                 activity_threads=4, max_concurrent_activities=6)
    workers = workers_from_settings(time_env.client, fresh_db, s)
    assert [w.task_queue for w in workers] == ["vl-expenses", "vl-production"]
    pools = {id(w.config()["activity_executor"]) for w in workers}
    assert len(pools) == 1
    assert workers[0].config()["activity_executor"]._max_workers == 6  # type: ignore[union-attr]
    assert all(w.config()["max_concurrent_activities"] == 6 for w in workers)
    with pytest.raises(ValueError, match="workers_from_settings"):
        worker_from_settings(time_env.client, fresh_db, s)
    off = workers_from_settings(time_env.client, fresh_db, Settings(_env_file=None, task_queue="vl"))
    assert [w.task_queue for w in off] == ["vl"]


# --- the real worker set-up -----------------------------------------------------------------------


@asynccontextmanager
async def running(client: Client, db: Database, task_queue: str, areas: str) -> AsyncIterator[list[Worker]]:
    """The workers `valueloop worker` runs with AREA_QUEUES=true and WORKER_AREAS=`areas`."""
    s = Settings(_env_file=None, task_queue=task_queue, area_queues=True, worker_areas=areas, activity_threads=8)
    workers = workers_from_settings(client, db, s)
    run = asyncio.create_task(run_workers(workers))
    try:
        yield workers
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)


def platform(client: Client, db: Database, task_queue: str) -> Platform:
    return Platform(client, db, task_queue, id_prefix=f"{task_queue}/", area_queues=True)


async def test_an_expense_claim_runs_on_the_expenses_queue(time_env: WorkflowEnvironment, db: Database,
                                                            task_queue: str):
    client = time_env.client
    async with running(client, db, task_queue, "all"):
        p = platform(client, db, task_queue)
        out = await expense_claim.submit(p, "erin", claim_lines("800"))
        number = out["claim_id"]
        assert out["status"] == "pending_approval"
        await approve_chain(p, db, number, ["frank"])
        await eventually(db, lambda s: expenses.get(s, number).status == "approved")
        claim = await client.get_workflow_handle(ids.expense_claim(number, p.id_prefix)).describe()
        assert claim.task_queue == f"{task_queue}-expenses"
        approval = await client.get_workflow_handle(ids.approval(claim.id)).describe()
        assert approval.task_queue == f"{task_queue}-expenses"  # the approval child: its parent's queue
        await terminate_processes(client, db)


async def test_production_and_purchase_children_land_on_their_areas_queues(
        time_env: WorkflowEnvironment, db: Database, task_queue: str):
    client = time_env.client
    async with running(client, db, task_queue, "all"):
        p = platform(client, db, task_queue)
        so = await order_fans(p, db)
        supply = await eventually(db, supply_of(so))
        order = await client.get_workflow_handle(ids.sales_order(so, p.id_prefix)).describe()
        assert order.task_queue == f"{task_queue}-sales"
        assert supply["production_orders"]
        for mo in supply["production_orders"]:
            child = await client.get_workflow_handle(ids.production_order(mo['id'], p.id_prefix)).describe()
            assert child.task_queue == f"{task_queue}-production"
            assert child.parent_id == order.id
        [req] = supply["purchase_orders"]
        child = await client.get_workflow_handle(ids.purchase(req['requisition_id'], p.id_prefix)).describe()
        assert child.task_queue == f"{task_queue}-purchasing"
        assert child.parent_id == order.id
        await terminate_processes(client, db)


async def test_a_production_worker_leaves_an_expense_claim_alone(time_env: WorkflowEnvironment, db: Database,
                                                                 task_queue: str):
    client = time_env.client
    p = platform(client, db, task_queue)
    async with running(client, db, task_queue, "production"):
        submit = asyncio.create_task(expense_claim.submit(p, "erin", claim_lines("800")))
        await asyncio.sleep(2)  # the claim's process waits on vl-expenses: nobody polls it
        assert not submit.done()
        with db.read() as s:  # nothing recorded: the claim's first activity never ran
            assert s.execute(select(func.count()).select_from(ExpenseClaim)).scalar_one() == 0
        async with running(client, db, task_queue, "expenses"):
            out = await asyncio.wait_for(submit, 20)  # an expenses worker comes: the claim starts
            assert out["status"] == "pending_approval"
            claim = await client.get_workflow_handle(out["process_id"]).describe()
            assert claim.task_queue == f"{task_queue}-expenses"
            await terminate_processes(client, db)
