"""The sales pages (pipeline, lead, opportunity, quotation) over HTTP, without a browser: each renders for
whoever may see it and is a 404 for anyone else; a bad form shows the reason and changes nothing."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re

import httpx
import pytest
from sqlalchemy import func, select

from domain.crm.tables import Lead, LeadActivity, Opportunity
from domain.sales.tables import Quotation
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

LEAD = {"company": "Globex Corporation", "contact": "Hank Scorpio", "email": "hank@globex.example",
        "phone": "+1 555 0100", "source": "referral", "estimated_value": "40000", "notes": "Fans for the new plant"}
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


class Browser:
    """One user's session cookie and CSRF token against the stack's pages."""

    def __init__(self, stack: Stack, username: str):
        self.stack, self.username = stack, username
        self.cookie = ""
        self.csrf = ""
        self.flash = ""  # the flash cookie a redirect left, sent with the next page as a browser would

    async def start(self) -> Browser:
        await self.stack.login(self.username)
        self.cookie = f"vl_session={self.stack.tokens[self.username]}"
        return self

    async def get(self, url: str) -> httpx.Response:
        cookie = f"{self.cookie}; vl_flash={self.flash}" if self.flash else self.cookie
        self.flash = ""
        r = await self.stack.http.get(url, headers={"Cookie": cookie})
        if found := CSRF.search(r.text):
            self.csrf = found.group(1)
        return r

    async def post(self, url: str, data: dict[str, object] | None = None, csrf: bool = True) -> httpx.Response:
        if not self.csrf:
            await self.get("/pipeline")
        form = {**(data or {}), **({"csrf": self.csrf} if csrf else {})}
        r = await self.stack.http.post(url, data=form, headers={"Cookie": self.cookie})  # type: ignore[arg-type]
        self.flash = r.cookies.get("vl_flash") or ""
        return r


def flash(r: httpx.Response) -> dict[str, str]:
    """The message a redirect leaves for the next page ({"msg": ...} or {"error": ...}): a cookie, not the URL."""
    raw = r.cookies.get("vl_flash")
    return json.loads(base64.urlsafe_b64decode(raw.encode())) if raw else {}


def text(r: httpx.Response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text)))


def count(stack: Stack, table: type, *where: object) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


async def new_lead(alice: Browser, **changes: str) -> str:
    r = await alice.post("/pipeline/leads", {**LEAD, "owner": "alice", **changes})
    assert r.status_code == 303, text(r)
    found = re.fullmatch(r"/leads/(LD-\d+)", r.headers["location"])
    assert found, r.headers["location"]
    return found.group(1)


async def quotation_status(alice: Browser, number: str, want: str, tries: int = 200) -> str:
    for _ in range(tries):
        page = text(await alice.get(f"/quotations/{number}"))
        if re.search(rf"Quotation {number} · Globex Corporation {want}", page):
            return page
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number} never became {want}: {page[:400]}")


async def test_each_page_renders_for_those_who_may_see_it_and_is_a_404_for_anyone_else(stack: Stack) -> None:
    alice, bob, carol, erin, heidi = [await Browser(stack, u).start()
                                      for u in ("alice", "bob", "carol", "erin", "heidi")]
    r = await alice.get("/pipeline")
    assert r.status_code == 200 and 'href="/pipeline" aria-current="page"' in r.text
    assert "New lead" in r.text and "Qualification" in r.text and "Negotiation" in r.text
    assert 'href="/pipeline"' not in (await erin.get("/inbox")).text  # no Sales entry without a sales role

    lead = await new_lead(alice)
    page = text(await alice.get(f"/leads/{lead}"))
    assert "Referred by someone who knows us referral +25" in page and "has_phone +10" in page
    assert "Score (held to 0–100) 70" in page
    assert "Log activity" in page and "Disqualify" in page
    assert lead in text(await alice.get("/pipeline"))
    assert (await bob.get(f"/leads/{lead}")).status_code == 200  # the sales manager sees every lead
    assert (await heidi.get(f"/leads/{lead}")).status_code == 200  # and so does the cfo
    for stranger in (carol, erin):
        r = await stranger.get(f"/leads/{lead}")
        assert r.status_code == 404 and f"no lead {lead}" in r.text and "Globex" not in r.text
        assert lead not in (await stranger.get("/pipeline")).text
    assert (await alice.get("/leads/LD-99999")).status_code == 404

    r = await alice.post(f"/leads/{lead}/activities", {"kind": "meeting", "note": "Site visit"})
    assert r.status_code == 303 and "score" in flash(r)["msg"]
    assert "Site visit" in text(await alice.get(f"/leads/{lead}"))
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified", "customer_id": ""})
    assert r.status_code == 303, text(r)
    opp = re.fullmatch(r"/opportunities/(OP-\d+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    page = text(await alice.get(f"/opportunities/{opp}"))
    assert "New quotation" in page and "Globex Corporation" in page and "Expected value 4,000.00" in page
    assert (await bob.get(f"/opportunities/{opp}")).status_code == 200
    assert (await heidi.get(f"/opportunities/{opp}")).status_code == 200
    for stranger in (carol, erin):
        assert (await stranger.get(f"/opportunities/{opp}")).status_code == 404
    assert opp in text(await alice.get("/pipeline"))
    assert opp not in text(await erin.get("/pipeline"))

    r = await alice.post(f"/opportunities/{opp}/quotations", {
        "sku": ["FAN-200", "BOLT-M8", ""], "qty": ["10", "100", ""], "unit_price": ["500", "0.50", ""],
        "discount_pct": ["5", "", ""], "valid_days": "14", "tax_rate": "0"})
    assert r.status_code == 303, text(r)
    number = re.fullmatch(r"/quotations/(QT-\d+)", r.headers["location"]).group(1)  # type: ignore[union-attr]
    page = text(await alice.get(f"/quotations/{number}"))
    assert "Total 4,800.00 USD" in page and "Margin 1,585.00" in page  # 4,800 - 10×320 - 100×0.15
    assert "Credit limit 50,000.00" in page and "within limit" in page and "Customer accepted" in page
    assert (await heidi.get(f"/quotations/{number}")).status_code == 200
    for stranger in (carol, erin):
        assert (await stranger.get(f"/quotations/{number}")).status_code == 404
    assert number in text(await alice.get(f"/opportunities/{opp}"))

    r = await alice.post(f"/quotations/{number}/answer", {"answer": "accept"})
    assert r.status_code == 303 and "sales order SO-" in flash(r)["msg"], flash(r)
    page = await quotation_status(alice, number, "accepted")
    assert "Sales order SO-" in page and "Customer accepted" not in page
    page = text(await alice.get(f"/opportunities/{opp}"))
    assert "Stage won" in page and "New quotation" not in page and "Mark lost" not in page


async def test_an_opportunity_moves_through_its_stages_and_is_lost_with_a_reason(stack: Stack) -> None:
    alice, bob = [await Browser(stack, u).start() for u in ("alice", "bob")]
    lead = await new_lead(alice)
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified"})
    opp = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    page = await alice.get(f"/opportunities/{opp}")
    moves = re.search(r'<select name="stage"[^>]*>(.*?)</select>', page.text, re.S).group(1)  # type: ignore[union-attr]
    assert re.findall(r'value="(\w+)"', moves) == ["proposal", "negotiation"]  # won and lost have their own ways
    r = await alice.post(f"/opportunities/{opp}/stage", {"stage": "negotiation"})
    assert r.status_code == 303 and "negotiation" in flash(r)["msg"]
    page = text(await alice.get(f"/opportunities/{opp}"))
    assert "Probability 70 %" in page and "Expected value 28,000.00" in page
    assert opp in text(await bob.get("/pipeline?owner=alice"))
    r = await alice.post(f"/opportunities/{opp}/quotations", {"sku": ["FAN-200"], "qty": ["1"], "unit_price": ["500"],
                                                             "valid_days": "30"})
    quotation = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    r = await bob.post(f"/opportunities/{opp}/lose", {"reason": "Went with a competitor"})
    assert r.status_code == 303, text(r)
    assert quotation in flash(r)["msg"]  # withdrawn with it
    page = text(await alice.get(f"/opportunities/{opp}"))
    assert "Lost because Went with a competitor" in page and "Mark lost" not in page
    board = await alice.get("/pipeline")
    lost = re.search(r'id="stage-lost".*?</section>', board.text, re.S).group(0)  # type: ignore[union-attr]
    assert opp in lost
    await quotation_status(alice, quotation, "rejected")


async def test_a_bad_form_shows_the_reason_and_changes_nothing(stack: Stack) -> None:
    alice, erin, carol = [await Browser(stack, u).start() for u in ("alice", "erin", "carol")]
    for bad, reason in [({"email": "not-an-email"}, "e-mail must be an e-mail address"),
                        ({"estimated_value": "lots"}, "estimated value must be a number"),
                        ({"estimated_value": "-5"}, "estimated value: input should be greater than or equal to 0"),
                        ({"company": " "}, "company is required"), ({"source": "tv"}, "source is not one of"),
                        ({"owner": "erin"}, "erin does not hold the role sales")]:
        r = await alice.post("/pipeline/leads", {**LEAD, **bad})
        assert r.status_code == 422, (bad, text(r))
        assert reason in text(r) and "The lead was not saved" in text(r), (reason, text(r))
        assert 'value="Hank Scorpio"' in r.text  # what was typed is kept
    assert (await erin.post("/pipeline/leads", LEAD)).status_code == 403
    assert (await alice.post("/pipeline/leads", LEAD, csrf=False)).status_code == 403
    assert count(stack, Lead) == 0

    lead = await new_lead(alice)
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "disqualified", "reason": "  "})
    assert r.status_code == 422 and "Say why the lead is disqualified" in text(r)
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "maybe"})
    assert r.status_code == 422 and "Choose qualify or disqualify" in text(r)
    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified", "customer_id": "999999"})
    assert r.status_code == 404 and "no customer 999999" in text(r)
    for odd in ("²", "١", "1_0", "1e1"):  # a customer id in odd digits is no id (and never a 500)
        r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified", "customer_id": odd})
        assert r.status_code == 422 and "Choose qualify or disqualify" in text(r), (odd, r.status_code)
    r = await alice.post(f"/leads/{lead}/activities", {"kind": "dance"})
    assert r.status_code == 422 and "Choose what kind of activity" in text(r)
    r = await carol.post(f"/leads/{lead}/activities", {"kind": "call"})
    assert r.status_code == 404
    with stack.db.read() as s:
        assert s.execute(select(Lead.status).where(Lead.number == lead)).scalar_one() == "assigned"
    assert count(stack, LeadActivity) == 0

    r = await alice.post(f"/leads/{lead}/qualify", {"decision": "qualified"})
    opp = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    good = {"sku": ["FAN-200"], "qty": ["1"], "unit_price": ["500"], "discount_pct": [""], "valid_days": "30",
            "tax_rate": "0"}
    for bad, status, reason in [
        ({"qty": ["abc"]}, 422, "Line 1: the quantity must be a number"),
        ({"qty": ["1,5"]}, 422, "Line 1: the quantity must be a number, not '1,5'"),  # never read as 15
        ({"qty": ["0"]}, 422, "Line 1: the quantity: input should be greater than 0"),
        ({"sku": ["STEEL-SHEET"], "unit_price": [""]}, 422, "Line 1: the unit price is missing"),  # no list price
        ({"discount_pct": ["101"]}, 422, "Line 1: the discount: input should be less than or equal to 100"),
        ({"sku": [""], "qty": [""], "unit_price": [""]}, 422, "a quotation needs at least one line"),
        ({"sku": ["FAN-200", "FAN-200"], "qty": ["1", "2"], "unit_price": ["5", "5"], "discount_pct": ["", ""]},
         422, "each SKU may appear once per quotation"),
        ({"sku": ["NOPE"]}, 404, "NOPE"),
        ({"valid_days": "soon"}, 422, "valid for 1 to 365 days"),
        ({"valid_days": "²"}, 422, "valid for 1 to 365 days"),  # str.isdigit() takes a superscript two
        ({"valid_days": "١٤"}, 422, "valid for 1 to 365 days"),  # Arabic-Indic 14
        ({"valid_days": "1_4"}, 422, "valid for 1 to 365 days"),
        ({"tax_rate": "x"}, 422, "the tax rate must be a number"),
    ]:
        r = await alice.post(f"/opportunities/{opp}/quotations", {**good, **bad})
        assert r.status_code == status, (bad, r.status_code, text(r))
        assert reason in text(r) and "The quotation was not created" in text(r), (reason, text(r))
    r = await alice.post(f"/opportunities/{opp}/quotations", {**good, "qty": ["abc"]})
    assert 'value="abc"' in r.text  # the row is kept for correction
    assert (await erin.post(f"/opportunities/{opp}/quotations", good)).status_code == 404
    assert count(stack, Quotation) == 0

    r = await alice.post(f"/opportunities/{opp}/quotations", good)
    number = r.headers["location"].split("?")[0].rsplit("/", 1)[1]
    r = await alice.post(f"/quotations/{number}/answer", {"answer": "maybe"})
    assert r.status_code == 422 and "Nothing was changed" in text(r)
    assert (await carol.post(f"/quotations/{number}/answer", {"answer": "accept"})).status_code == 404
    r = await alice.post(f"/quotations/{number}/answer", {"answer": "reject", "reason": " "})
    assert r.status_code == 422 and "Say why the customer rejected" in text(r)
    with stack.db.read() as s:
        assert s.execute(select(Quotation.status).where(Quotation.number == number)).scalar_one() == "sent"
    r = await alice.post(f"/quotations/{number}/answer", {"answer": "reject", "reason": "Price too high"})
    assert r.status_code == 303
    page = await quotation_status(alice, number, "rejected")
    assert "Rejected: Price too high" in page
    r = await alice.post(f"/quotations/{number}/answer", {"answer": "accept"})
    assert r.status_code == 409 and "rejected" in text(r)

    r = await alice.post(f"/opportunities/{opp}/stage", {"stage": "won"})
    assert r.status_code == 422 and "Choose the stage" in text(r)
    r = await alice.post(f"/opportunities/{opp}/stage", {"stage": "qualification"})  # back one stage: allowed
    assert r.status_code == 303, text(r)
    r = await alice.post(f"/opportunities/{opp}/stage", {"stage": "qualification"})
    assert r.status_code == 409 and "already in qualification" in text(r)
    r = await alice.post(f"/opportunities/{opp}/lose", {"reason": ""})
    assert r.status_code == 422 and "Say why the opportunity was lost" in text(r)
    assert (await carol.post(f"/opportunities/{opp}/lose", {"reason": "x"})).status_code == 404
    with stack.db.read() as s:
        assert s.execute(select(Opportunity.stage).where(Opportunity.number == opp)).scalar_one() == "qualification"


async def test_the_lead_page_offers_its_buttons_to_exactly_those_the_process_lets_work_the_lead(stack: Stack) -> None:
    """The page asks the process's own rule (crm.may_work_lead): the owner, the owner's manager and an admin get
    the buttons; another sales manager, who may see every lead but whose work on it the process would refuse,
    and the cfo do not."""
    from domain.org import services as org

    with stack.db.write() as s:
        org.create_user(s, "sam", "demo", ["sales_manager", "employee"], full_name="Sam Stone",
                        manager="heidi")
    alice, bob, sam, heidi, admin = [await Browser(stack, u).start() for u in ("alice", "bob", "sam", "heidi",
                                                                                "admin")]
    lead = await new_lead(alice)
    for user, works in ((alice, True), (bob, True), (admin, True), (sam, False), (heidi, False)):
        page = await user.get(f"/leads/{lead}")
        assert page.status_code == 200, user.username
        assert ("Log activity" in text(page)) is works, user.username
        assert ("Only alice (the owner), their manager or an admin works this lead." in text(page)) is not works
    r = await sam.post(f"/leads/{lead}/activities", {"kind": "call", "note": "hello"})  # the process refuses too
    assert count(stack, LeadActivity, LeadActivity.note == "hello") == 0, r.status_code
