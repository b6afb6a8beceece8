"""The process monitor over HTTP, as a logged-in user: the list's filters narrow it and its counts by type and
stage count what the viewer may see; another user's process is neither listed nor counted nor shown; the
process page draws the business map with the current step highlighted, says what it waits for, shows the
timeline and the linked processes, and escapes what users typed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.processes.tables import Process
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, text
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

EVIL = '<script>alert("x")</script> & Co'


def claim(amount: str, description: str = "Taxi") -> dict[str, object]:
    return {"lines": [{"category": "travel", "amount": amount, "currency": "USD", "date": "2026-11-02",
                       "description": description}]}


async def new_claim(stack: Stack, who: str, amount: str) -> tuple[str, str]:
    r = await stack.as_(who, "POST", "/api/expense-claims", json=claim(amount))
    assert r.status_code == 201, r.text
    return r.json()["claim_id"], r.json()["process_id"]


async def new_lead(stack: Stack, company: str) -> tuple[str, str]:
    r = await stack.as_("alice", "POST", "/api/leads", json={
        "company": company, "contact": "Lucius Fox", "email": "lucius@wayne.example", "source": "trade_show",
        "estimated_value": "75000"})
    assert r.status_code == 201, r.text
    number = r.json()["lead_id"]
    pid = await eventually(stack.db, lambda s: s.execute(select(Process.process_id).where(
        Process.business_key == number, Process.stage == "assigned")).scalar_one_or_none())
    return number, pid


def keys(r: object) -> set[str]:
    return set(re.findall(r'data-key="([^"]+)"', r.text))  # type: ignore[attr-defined]


def counts(r: object) -> dict[tuple[str, str], int]:
    """The counts table: (type, stage) → count, and (type, '*') → the type's total."""
    out: dict[tuple[str, str], int] = {}
    for row in re.findall(r'<tr data-type="([^"]+)">(.*?)</tr>', r.text, re.S):  # type: ignore[attr-defined]
        type_, body = row
        out[(type_, "*")] = int(re.search(r'data-total="(\d+)"', body).group(1))  # type: ignore[union-attr]
        for stage, n in re.findall(r'data-stage="([^"]*)" data-count="(\d+)"', body):
            out[(type_, stage)] = int(n)
    return out


async def test_filters_narrow_the_list_and_the_counts_count_what_the_viewer_sees(stack: Stack) -> None:
    small, small_pid = await new_claim(stack, "erin", "120.00")   # one approver: frank
    big, big_pid = await new_claim(stack, "erin", "20000.00")     # frank, grace, heidi
    lead, lead_pid = await new_lead(stack, "Wayne Enterprises")   # alice's, not erin's
    await eventually(stack.db, lambda s: s.execute(select(Process).where(
        Process.process_id.in_([small_pid, big_pid]), Process.stage.startswith("approval:"))).scalars().all()
        .__len__() == 2)
    erin = await Browser(stack, "erin").start()
    r = await erin.get("/processes")
    assert r.status_code == 200
    assert {small, big} <= keys(r) and lead not in keys(r)  # alice's lead is not erin's to see
    c = counts(r)
    assert c[("expense_claim", "*")] == 2
    assert c[("expense_claim", "approval: manager")] == 2
    assert not any(t == "lead_to_order" for t, _ in c)
    # prefix of the business key, stage, status, owner, dates
    assert keys(await erin.get(f"/processes?business_key={small}")) == {small}
    assert keys(await erin.get(f"/processes?business_key={small[:3]}")) >= {small, big}
    assert keys(await erin.get("/processes?business_key=ZZ")) == set()
    assert keys(await erin.get("/processes?stage=approval: manager&type=expense_claim")) == {small, big}
    assert keys(await erin.get("/processes?status=completed")) == set()
    assert keys(await erin.get("/processes?owner=alice")) == set()
    today = datetime.now(UTC).date()
    assert keys(await erin.get(f"/processes?started_from={today}&started_to={today}")) == {small, big}
    assert keys(await erin.get(f"/processes?started_to={today - timedelta(days=1)}")) == set()
    assert keys(await erin.get(f"/processes?started_from={today + timedelta(days=1)}")) == set()
    # the counts follow the filters other than type and stage
    assert counts(await erin.get(f"/processes?business_key={small}"))[("expense_claim", "*")] == 1
    # alice sees her lead, with its company as the customer, and the customer filter finds it
    alice = await Browser(stack, "alice").start()
    r = await alice.get("/processes?customer=wayne")
    assert keys(r) == {lead} and "Wayne Enterprises" in text(r)
    assert counts(r) == {("lead_to_order", "*"): 1, ("lead_to_order", "assigned"): 1}
    assert keys(await alice.get("/processes?customer=acme")) == set()
    # the JSON API: same filters, same scope, and the counts
    api = (await stack.as_("erin", "GET", "/api/processes", params={"business_key": small[:3]})).json()
    assert {p["business_key"] for p in api} == {small, big}
    assert (await stack.as_("erin", "GET", "/api/processes", params={"owner": "alice"})).json() == []
    got = (await stack.as_("alice", "GET", "/api/processes", params={"customer": "WAYNE"})).json()
    assert [(p["business_key"], p["customer"]) for p in got] == [(lead, "Wayne Enterprises")]
    cnt = (await stack.as_("erin", "GET", "/api/processes/counts")).json()
    assert cnt == [{"type": "expense_claim", "total": 2, "stages": [{"stage": "approval: manager", "count": 2}]}]
    # another user's process page is a 404 to erin
    assert (await erin.get(f"/processes/{lead_pid}")).status_code == 404
    assert (await stack.as_("erin", "GET", f"/api/processes/{lead_pid}")).status_code == 404


def step_tags(r: object, cls: str = "wide") -> list[str]:
    """The <g> tags of the map's steps, in the wide map."""
    svg = re.search(rf'<svg class="bmap {cls}".*?</svg>', r.text, re.S).group(0)  # type: ignore[attr-defined,union-attr]
    return re.findall(r'<g class="bmap-step[^>]*>', svg)


async def test_the_process_page_maps_the_steps_and_says_what_it_waits_for(stack: Stack) -> None:
    number, pid = await new_claim(stack, "erin", "120.00")
    await eventually(stack.db, lambda s: s.get(Process, pid).stage == "approval: manager")
    erin = await Browser(stack, "erin").start()
    r = await erin.get(f"/processes/{pid}")
    assert r.status_code == 200
    for cls in ("wide", "narrow"):
        tags = step_tags(r, cls)
        assert [re.search(r'data-step="([^"]+)"', t).group(1) for t in tags] == [  # type: ignore[union-attr]
            "submitted", "approval: manager", "awaiting payment", "paid"]
        current = [t for t in tags if "is-current" in t]
        assert len(current) == 1 and 'data-step="approval: manager"' in current[0]
        assert 'aria-current="step"' in current[0]
        assert 'data-state="done"' in tags[0] and 'data-state="todo"' in tags[3]
    assert re.search(r"waiting for frank's approval \(manager\) since (just now|\d+ minutes?)", text(r))
    page = text(r)
    assert "task created: manager" in page and "step “submitted” began" in page
    # frank approves: the timeline says so, with who; the map moves on
    task = await stack.open_task("frank", number)
    assert (await stack.as_("frank", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve", "comment": "ok"})).status_code == 200
    await eventually(stack.db, lambda s: s.get(Process, pid).stage == "awaiting payment")
    r = await erin.get(f"/processes/{pid}")
    assert re.search(r"task decided: manager by frank", text(r))
    current = [t for t in step_tags(r) if "is-current" in t]
    assert len(current) == 1 and 'data-step="awaiting payment"' in current[0]
    assert "waiting for" not in text(r) or "awaiting payment" in text(r)


async def test_what_users_typed_is_escaped_on_the_process_page_and_in_the_list(stack: Stack) -> None:
    _number, pid = await new_lead(stack, EVIL)
    alice = await Browser(stack, "alice").start()
    for url in (f"/processes/{pid}", "/processes", "/processes?customer=script"):
        r = await alice.get(url)
        assert r.status_code == 200
        assert "<script>alert" not in r.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in r.text
    r = await alice.get(f"/processes/{pid}")
    assert "Customer " + EVIL in text(r)
    current = [t for t in step_tags(r) if "is-current" in t]
    assert len(current) == 1 and 'data-step="assigned"' in current[0]


async def test_a_sales_order_links_its_supply_and_each_child_its_parent(stack: Stack) -> None:
    from tests.e2e.test_production_pages import order_fans, supply_of

    so = await order_fans(stack, "10")
    supply = await eventually(stack.db, supply_of(so), limit=30)
    with stack.db.read() as s:
        order = s.execute(select(Process).where(Process.business_key == so)).scalar_one()
        children = s.execute(select(Process).where(Process.parent_id == order.process_id)).scalars().all()
        assert order.customer == "Globex Corporation"
        assert {c.type for c in children} == {"production_order", "purchase"}
        assert {c.customer for c in children} == {"Globex Corporation"}  # inherited from the order
    assert len(supply["production_orders"]) >= 1
    # the salesperson sees her order, but not the planner's production orders and requisitions
    alice = await Browser(stack, "alice").start()
    r = await alice.get(f"/processes/{order.process_id}")
    assert r.status_code == 200 and 'data-link="child"' not in r.text
    admin = await Browser(stack, "admin").start()
    r = await admin.get(f"/processes/{order.process_id}")
    linked = re.findall(r'<tr data-link="child">.*?href="/processes/([^"]+)"', r.text, re.S)
    assert sorted(linked) == sorted(c.process_id for c in children)
    tags = step_tags(r)
    assert any('data-step="kitting"' in t and 'data-state="done"' in t for t in tags)
    assert any('data-step="MRP"' in t and 'data-state="done"' in t for t in tags)
    child = next(c for c in children if c.type == "production_order")
    r = await admin.get(f"/processes/{child.process_id}")
    assert r.status_code == 200
    assert re.search(rf'<tr data-link="parent">.*?{re.escape(so)}', r.text, re.S)
    # the list finds the order's processes by customer
    r = await admin.get("/processes?customer=globex")
    assert {so} | {c.business_key for c in children} <= keys(r)
