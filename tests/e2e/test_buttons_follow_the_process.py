"""Issue 16, a button is shown only when the action is allowed: over HTTP, each page offers a button to
exactly those whose command its process would take, because the page asks the process's own rule. Each test
names a user for whom the page and the process used to disagree, shows what the page offers them now, and
shows the process refusing them the command (or taking it) all the same."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.crm.tables import Opportunity
from domain.org import services as org
from domain.sales.tables import Quotation
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, count, new_lead, text

pytestmark = pytest.mark.e2e

QUOTE = {"sku": ["FAN-200"], "qty": ["1"], "unit_price": ["500"], "discount_pct": [""], "valid_days": "30",
         "tax_rate": "0"}


async def test_the_opportunity_page_offers_its_buttons_to_exactly_those_the_process_lets_work_it(
        stack: Stack) -> None:
    """Move, Mark lost and New quotation go to the opportunity's process (LeadToOrder), which takes them from
    the salesperson, their manager and an admin (crm.may_work_lead). Another sales manager, sam, used to get all
    three (opportunity.work_any, quotation.create) and was then refused; the cfo sees the page, no button."""
    with stack.db.write() as s:
        org.create_user(s, "sam", "demo", ["sales_manager", "employee"], full_name="Sam Stone", manager="heidi")
    alice, bob, sam, heidi, admin = [await Browser(stack, u).start() for u in ("alice", "bob", "sam", "heidi",
                                                                                "admin")]
    lead = await new_lead(alice)
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified"})
    assert r.status_code == 303, text(r)
    opp = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    for user, works in ((alice, True), (bob, True), (admin, True), (sam, False), (heidi, False)):
        page = await user.get(f"/opportunities/{opp}")
        assert page.status_code == 200, user.username
        body = text(page)
        assert ("Mark lost" in body) is works, user.username
        assert ('action="/opportunities/' + opp + '/stage"' in page.text) is works, user.username
        assert ("New quotation" in body) is works, user.username

    # the process refuses sam each of them, and nothing changes
    r = await sam.post(f"/opportunities/{opp}/stage", {"stage": "proposal"})
    assert r.status_code == 403 and "their manager or an admin" in text(r), text(r)[:300]
    r = await sam.post(f"/opportunities/{opp}/lose", {"reason": "not for us"})
    assert r.status_code == 403, r.status_code
    r = await sam.post(f"/opportunities/{opp}/quotations", QUOTE)
    assert r.status_code == 403 and "The quotation was not created" in text(r), r.status_code
    with stack.db.read() as s:
        assert s.execute(select(Opportunity.stage).where(Opportunity.number == opp)).scalar_one() == "qualification"
    assert count(stack, Quotation) == 0

    # and takes them from bob, alice's manager
    r = await bob.post(f"/opportunities/{opp}/quotations", QUOTE)
    assert r.status_code == 303, text(r)
    r = await bob.post(f"/opportunities/{opp}/stage", {"stage": "negotiation"})
    assert r.status_code == 303, text(r)

