"""Month-end close through the API and the pages: grace closes last month, the checks pass, heidi approves on
her task (which shows the checks), the month is locked (a payment dated in it → 409, nothing stored), heidi
reopens it with a reason; what each may not do is refused."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import func, select

from domain.accounting import rules as accounting
from domain.accounting.tables import JournalEntry
from domain.cash.tables import Payment
from domain.core.types import utcnow
from domain.parties.tables import Customer
from domain.processes.tables import Process
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, flash, text


def last_month() -> str:
    today = utcnow().date()
    return accounting.period_of(date.fromordinal(date(today.year, today.month, 1).toordinal() - 1))


async def period_is(stack: Stack, period: str, status: str, tries: int = 200) -> dict[str, object]:
    for _ in range(tries):
        r = await stack.as_("heidi", "GET", f"/api/periods/{period}")
        assert r.status_code == 200, r.text
        if r.json()["status"] == status:
            return r.json()  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{period} never became {status}: {r.json()}")


def counts(stack: Stack) -> tuple[int, int]:
    with stack.db.read() as s:
        return (s.execute(select(func.count()).select_from(JournalEntry)).scalar_one(),
                s.execute(select(func.count()).select_from(Payment)).scalar_one())


async def test_grace_closes_last_month_heidi_approves_a_payment_dated_in_it_is_refused_and_heidi_reopens_it(
        stack: Stack) -> None:
    period = last_month()
    r = await stack.as_("grace", "POST", f"/api/periods/{period}/close")
    assert r.status_code == 201, r.text
    started = r.json()
    assert started["status"] == "closing" and started["process_id"].endswith(f"period-close-{period}")
    assert all(c["passed"] for c in started["checks"]["checks"])
    again = await stack.as_("grace", "POST", f"/api/periods/{period}/close")  # running: that one, not a second
    assert again.status_code == 200 and again.json()["process_id"] == started["process_id"]

    task = await stack.open_task("heidi", period)
    page = await (await Browser(stack, "heidi").start()).get(f"/tasks/{task['id']}")
    assert page.status_code == 200, page.text[:300]
    body = text(page)
    assert f"Month-end close {period}" in body and "Receivables = open customer invoices" in body
    assert "Trial balance to" in body and "failed" not in body.split("Month-end close", 1)[1].split("</section>")[0]
    assert (await stack.as_("grace", "POST", f"/api/tasks/{task['id']}/complete",
                            json={"decision": "approve", "comment": ""})).status_code == 403
    r = await stack.as_("heidi", "POST", f"/api/tasks/{task['id']}/complete",
                        json={"decision": "approve", "comment": "the checks are fine"})
    assert r.status_code == 200, r.text
    closed = await period_is(stack, period, "closed")
    assert closed["closed_by"] == "heidi" and closed["closed_at"]

    with stack.db.read() as s:
        customer = s.execute(select(Customer.id).order_by(Customer.id)).scalars().first()
    before = counts(stack)
    last_day = accounting.parse_period(period)[1].isoformat()
    r = await stack.as_("grace", "POST", "/api/payments", json={
        "direction": "in", "party_id": customer, "amount": "100.00", "currency": "USD", "paid_on": last_day,
        "reference": "TT-LATE-1"})
    assert r.status_code == 409, r.text
    assert f"period {period} is closed" in r.json()["detail"]
    assert counts(stack) == before

    listed = await stack.as_("grace", "GET", "/api/periods")
    assert listed.status_code == 200
    row = next(p for p in listed.json() if p["period"] == period)
    assert row["status"] == "closed" and row["process_id"] == started["process_id"] and row["checks"]

    assert (await stack.as_("grace", "POST", f"/api/periods/{period}/reopen",
                            json={"reason": "a late bill"})).status_code == 403
    r = await stack.as_("heidi", "POST", f"/api/periods/{period}/reopen", json={})
    assert r.status_code == 422 and "reason" in r.text
    r = await stack.as_("heidi", "POST", f"/api/periods/{period}/reopen", json={"reason": "  "})
    assert r.status_code == 422
    r = await stack.as_("heidi", "POST", f"/api/periods/{period}/reopen",
                        json={"reason": "a supplier bill of the month came late"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open" and r.json()["reopened_by"] == "heidi"
    assert r.json()["reopen_reason"] == "a supplier bill of the month came late"
    again = await stack.as_("heidi", "POST", f"/api/periods/{period}/reopen", json={"reason": "again"})
    assert again.status_code == 409
    r = await stack.as_("grace", "POST", "/api/payments", json={
        "direction": "in", "party_id": customer, "amount": "100.00", "currency": "USD", "paid_on": last_day,
        "reference": "TT-LATE-1"})
    assert r.status_code == 201, r.text


async def test_what_may_not_be_closed_and_who_may_not_close(stack: Stack) -> None:
    today = utcnow().date()
    this_month = accounting.period_of(today)
    r = await stack.as_("grace", "POST", f"/api/periods/{this_month}/close")
    if accounting.parse_period(this_month)[1] > today:
        assert r.status_code == 409 and "has not ended" in r.text
    assert (await stack.as_("grace", "POST", "/api/periods/2099-01/close")).status_code == 409
    for bad in ("2026-13", "2026-1", "november", "2026-11-01"):
        r = await stack.as_("grace", "POST", f"/api/periods/{bad}/close")
        assert r.status_code == 422, (bad, r.text)
    for who in ("heidi", "erin", "admin"):  # finance closes; the cfo approves
        assert (await stack.as_(who, "POST", f"/api/periods/{last_month()}/close")).status_code == 403
    assert (await stack.as_("erin", "GET", "/api/periods")).status_code == 403
    with stack.db.read() as s:
        assert s.execute(select(func.count()).select_from(Process).where(Process.type == "period_close")).scalar_one() == 0


async def test_the_periods_page_closes_for_finance_and_reopens_for_the_cfo(stack: Stack) -> None:
    period = last_month()
    grace = await Browser(stack, "grace").start()
    page = await grace.get("/periods")
    assert page.status_code == 200, page.text[:300]
    assert f'action="/periods/{period}/close"' in page.text and "/reopen" not in page.text
    r = await grace.post(f"/periods/{period}/close")
    assert r.status_code == 303 and "passed" in flash(r)["msg"], r.text
    page = text(await grace.get("/periods"))
    assert f"Checks of {period}" in page and "Inventory = stock valuation" in page
    heidi = await Browser(stack, "heidi").start()
    assert f'action="/periods/{period}/close"' not in (await heidi.get("/periods")).text  # the cfo does not close
    task = await stack.open_task("heidi", period)
    r = await stack.as_("heidi", "POST", f"/api/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    await period_is(stack, period, "closed")
    page = await heidi.get("/periods")
    assert f'action="/periods/{period}/reopen"' in page.text
    r = await heidi.post(f"/periods/{period}/reopen", {"reason": ""})
    assert r.status_code == 422 and "needs a reason" in text(r)
    r = await heidi.post(f"/periods/{period}/reopen", {"reason": "late bill"})
    assert r.status_code == 303, text(r)
    await period_is(stack, period, "open")
    erin = await (await Browser(stack, "erin").start()).get("/periods")
    assert erin.status_code == 403
