"""The dashboard and the incidents page over HTTP, without a browser: the dashboard is for managers, finance
and admin (403 for anyone else) and its figures are the database's; the incidents page (admin only) lists an
activity that keeps failing in a running process, with its error, and its retry resets the activity in
Temporal; /api/incidents answers the same as JSON."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain.approvals.tables import Task
from domain.core.types import utcnow
from domain.processes.tables import Process
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, flash, text
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

LINE = {"category": "travel", "amount": "100.00", "currency": "USD", "date": "2026-11-02", "description": "taxi"}


def kpi(page: str, label: str) -> int:
    found = re.search(r'<span class="kpi-value">(\d+)</span><span class="kpi-label">' + re.escape(label), page)
    assert found, label
    return int(found.group(1))


async def test_the_dashboard_shows_the_figures_to_managers_finance_and_admin(stack: Stack) -> None:
    for _ in range(2):
        r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]})
        assert r.status_code in (200, 201), r.text
    await eventually(stack.db, lambda s: len(s.execute(select(Task).where(Task.status == "open")).all()) >= 2)
    with stack.db.read() as s:
        started = len(s.execute(select(Process.process_id)).all())
        roles = {t.candidate_role for t in s.execute(select(Task).where(Task.status == "open")).scalars()}
        open_tasks = len(s.execute(select(Task.id).where(Task.status == "open")).all())
    for user in ("frank", "heidi", "admin", "grace"):
        page = await (await Browser(stack, user).start()).get("/dashboard")
        assert page.status_code == 200, (user, page.text[:300])
        assert kpi(page.text, "processes started") == started >= 2
        assert kpi(page.text, "open tasks") == open_tasks >= 2
        assert page.text.count('<svg class="chart') == 5 and "<script" not in page.text
        body = text(page)
        for role in roles:
            assert (role or "named person").replace("_", " ") in body
        assert ('href="/incidents"' in page.text) == (user == "admin")
    erin = await (await Browser(stack, "erin").start()).get("/dashboard")
    assert erin.status_code == 403 and "managers, finance and admin" in text(erin)
    anonymous = await stack.http.get("/dashboard")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


# --- an activity that keeps failing ----------------------------------------------------------------------

@activity.defn(name="dashboard_test_broken_step")
async def broken_step(item: str) -> None:
    raise RuntimeError(f"no item {item} in the catalogue")


@workflow.defn(name="DashboardTestBroken")
class Broken:
    @workflow.run
    async def run(self, item: str) -> None:
        await workflow.execute_activity(broken_step, item, start_to_close_timeout=timedelta(seconds=5),
                                        retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100),
                                                                 maximum_interval=timedelta(seconds=1)))


async def test_incidents_list_a_failing_activity_for_admin_with_retry(stack: Stack) -> None:
    admin, frank = await Browser(stack, "admin").start(), await Browser(stack, "frank").start()
    empty = await admin.get("/incidents")
    assert empty.status_code == 200 and "No failing activities" in text(empty)
    queue = f"broken-{uuid.uuid4()}"
    wid = f"{queue}/broken-1"
    client = stack.platform.client
    async with Worker(client, task_queue=queue, workflows=[Broken], activities=[broken_step],
                      workflow_runner=UnsandboxedWorkflowRunner()):
        with stack.db.write() as s:
            s.add(Process(process_id=wid, type="dashboard_test", business_key="BRK-1", title="broken",
                          owner="admin", status="running", started_at=utcnow()))
        handle = await client.start_workflow(Broken.run, "<img src=x onerror=alert(1)>", id=wid, task_queue=queue)

        async def attempts() -> int:
            d = await handle.describe()
            return max((a.attempt for a in d.raw_description.pending_activities), default=0)
        for _ in range(100):
            if await attempts() >= 3:
                break
            await asyncio.sleep(0.1)
        assert await attempts() >= 3

        page = await admin.get("/incidents")
        assert page.status_code == 200
        body = text(page)
        assert "BRK-1" in body and "dashboard_test_broken_step" in body
        assert "no item <img src=x onerror=alert(1)> in the catalogue" in body
        assert "<img src=x" not in page.text  # the error is escaped
        assert f'action="/incidents/retry/{wid}"' in page.text and "/incidents/cancel/" not in page.text
        api = await stack.as_("admin", "GET", "/api/incidents")
        assert api.status_code == 200, api.text
        mine = [i for i in api.json()["incidents"] if i["process_id"] == wid]
        assert len(mine) == 1 and mine[0]["attempt"] >= 3 and mine[0]["activity_type"] == "dashboard_test_broken_step"
        assert "no item <img" in mine[0]["error"] and mine[0]["last_failure_at"]

        assert (await frank.get("/incidents")).status_code == 403
        assert (await stack.as_("frank", "GET", "/api/incidents")).status_code == 403
        no_csrf = await admin.post(f"/incidents/retry/{wid}", {"activity_id": mine[0]["activity_id"]}, csrf=False)
        assert no_csrf.status_code == 403

        retried = await admin.post(f"/incidents/retry/{wid}", {"activity_id": mine[0]["activity_id"]})
        assert retried.status_code == 303, text(retried)
        location = retried.headers["location"]
        assert location == "/incidents" and "reset" in flash(retried)["msg"], location
        # a cancel of a process type that has no cancel is refused, and the process keeps running
        refused = await admin.post(f"/incidents/cancel/{wid}")
        assert refused.status_code == 303 and flash(refused).get("error")
        assert (await handle.describe()).status is not None
        await handle.terminate("test finished")
        with stack.db.write() as s:
            row = s.get(Process, wid)
            assert row is not None
            row.status = "failed"


async def test_every_overdue_task_is_two_clicks_from_the_dashboard_for_admin(stack: Stack) -> None:
    """Dashboard → "open past due" → the incidents page lists every open task past due, whoever it waits for
    (the longest overdue first, titles escaped), beside the failing activities; nothing not yet due."""
    now = utcnow()
    with stack.db.write() as s:
        for n, (hours, role, user) in enumerate([(-50, "finance", None), (-2, None, "heidi"), (30, "cfo", None)]):
            s.add(Task(id=f"late-{n}", workflow_id=f"wf-{n}", process_id=f"expense-claim-EC-9{n}",
                       process_type="expense_claim", kind="approval", title=f"<b>claim</b> EC-9{n}",
                       business_key=f"EC-9{n}", requester="erin", candidate_role=role, candidate_user=user,
                       status="open", due_at=now + timedelta(hours=hours)))
    admin = await Browser(stack, "admin").start()
    dash = await admin.get("/dashboard")
    assert 'href="/incidents#overdue"' in dash.text
    page = await admin.get("/incidents")
    body = text(page)
    assert "Overdue tasks 2" in body and "EC-90" in body and "EC-91" in body and "EC-92" not in body
    assert body.index("EC-90") < body.index("EC-91")  # 50 h late before 2 h late
    assert "role finance" in body and "heidi" in body and "2 d 2 h" in body
    assert "<b>claim</b>" not in page.text and "&lt;b&gt;claim&lt;/b&gt;" in page.text
    frank = await Browser(stack, "frank").start()
    assert (await frank.get("/incidents")).status_code == 403


async def test_cycle_times_under_an_hour_are_minutes_and_a_table_with_data_has_a_chart(stack: Stack) -> None:
    """Issue 18: "Cycle time" said "No data yet" above a table with data, and 20 minutes read "0.0 h"."""
    r = await stack.as_("erin", "POST", "/api/expense-claims", json={"lines": [LINE]})
    assert r.status_code in (200, 201), r.text
    process_id = r.json()["process_id"]
    await eventually(stack.db, lambda s: s.get(Process, process_id))
    now = utcnow()
    with stack.db.write() as s:
        proc = s.get(Process, process_id)
        assert proc is not None
        proc.status, proc.started_at, proc.closed_at = "completed", now - timedelta(minutes=25), now - timedelta(
            minutes=5)
    page = await (await Browser(stack, "heidi").start()).get("/dashboard")
    assert page.status_code == 200
    cycle = page.text.split('id="h-cycle"', 1)[1].split("</section>", 1)[0]
    assert "No data yet" not in cycle and "<rect" in cycle and "in minutes" in cycle
    assert "20 min" in text(page) and "0.0 h" not in text(page)
    # the admin's "open past due" card is a link laid out as the other cards (value above label, in the card)
    admin = await (await Browser(stack, "admin").start()).get("/dashboard")
    assert re.search(r'<li[^>]*><a href="/incidents#overdue"><span class="kpi-value">\d+</span>'
                     r'<span class="kpi-label">open past due</span></a></li>', admin.text)

