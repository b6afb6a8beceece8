"""Issue 15 over HTTP: names that look the same are one customer or supplier (class 8); a customer's embedded
orders, revenue and margin are those the caller may open, and one person qualified twice is one contact
(class 9)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from domain.crm.tables import Contact
from domain.org import services as org
from domain.parties.tables import Customer, Supplier
from domain.sales.tables import SalesOrder

pytestmark = pytest.mark.e2e

GLOBEX_ALIKES = ["Glоbex Corporation", "Globex\u200b Corporation", "Globex  Corporation", "Ｇｌｏｂｅｘ Corporation",
                 "GLOBEX CORPORATION", "Glοbex Corporation", "Globex\u00a0Corporation", "Glo\u200dbex Corporation"]


def rows(stack, cls) -> int:  # type: ignore[no-untyped-def]
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(cls)).scalar_one())


async def test_a_customer_or_supplier_named_like_one_that_exists_is_409_and_nothing_is_stored(stack):
    customers, suppliers = rows(stack, Customer), rows(stack, Supplier)
    for name in GLOBEX_ALIKES:
        r = await stack.as_("bob", "POST", "/api/customers", json={"name": name, "credit_limit": "1000"})
        assert r.status_code == 409, (name, r.text)
        assert r.json()["detail"] == "customer 'Globex Corporation' exists already"
    for name in ("VOLT  MOTORS", "Vоlt Motors", "Volt\u200bMotors".replace("\u200bM", "\u200b M"), "Ｖｏｌｔ Motors"):
        r = await stack.as_("dave", "POST", "/api/suppliers", json={"name": name})
        assert r.status_code == 409, (name, r.text)
        assert "supplier 'Volt Motors' exists already" in r.json()["detail"]
    assert (rows(stack, Customer), rows(stack, Supplier)) == (customers, suppliers)

    # Two creates of look-alike names at once: one is stored, the other is 409.
    answers = await asyncio.gather(*(stack.as_("bob", "POST", "/api/customers", json={"name": n})
                                     for n in ("Wayne Enterprises", "WAYNE  Enterprises", "Wаyne Enterprises")))
    assert sorted(r.status_code for r in answers) == [201, 409, 409], [r.text for r in answers]
    assert rows(stack, Customer) == customers + 1


async def test_a_name_with_a_bidi_override_is_422_and_nothing_is_stored(stack):
    customers, suppliers = rows(stack, Customer), rows(stack, Supplier)
    for name in ("Evil\u202eroC", "\u2067Globex\u2069", "Acme\u200f", "Ctrl\x07Corp"):
        r = await stack.as_("bob", "POST", "/api/customers", json={"name": name})
        assert r.status_code == 422, (name, r.text)
        assert "character" in r.json()["detail"], r.text
        r = await stack.as_("dave", "POST", "/api/suppliers", json={"name": name})
        assert r.status_code == 422, (name, r.text)
    r = await stack.as_("alice", "POST", "/api/leads", json={
        "company": "Evil\u202eroC", "contact": "Mallory", "email": "m@evil.example", "source": "website",
        "estimated_value": "1"})
    assert r.status_code == 422 and "bidirectional" in r.text
    assert (rows(stack, Customer), rows(stack, Supplier)) == (customers, suppliers)


async def test_a_salesperson_sees_only_their_own_orders_and_margins_on_a_customer(stack):
    with stack.db.write() as s:
        org.create_user(s, "amy", "password123", ["sales", "employee"], manager="bob")
        globex = s.execute(select(Customer).where(Customer.name == "Globex Corporation")).scalar_one()
        for number, owner, total, margin, status in (
                ("SO-91001", "alice", "1000.00", "300.00", "completed"),
                ("SO-91002", "amy", "5000.00", "2500.00", "completed"),
                ("SO-91003", "amy", "700.00", None, "open")):
            s.add(SalesOrder(number=number, customer_id=globex.id, status=status, currency="USD", total=D(total),
                             revenue=D(total) if margin else None, margin=D(margin) if margin else None,
                             owner=owner, process_id=f"p-{number}", idempotency_key=f"k-{number}"))
        customer = globex.id
    await stack.login("amy", "password123")

    async def may_get(who: str) -> set[str]:
        return {n for n in ("SO-91001", "SO-91002", "SO-91003")
                if (await stack.as_(who, "GET", f"/api/sales-orders/{n}")).status_code == 200}

    seen = {}
    for who in ("alice", "amy", "bob", "grace"):
        r = await stack.as_(who, "GET", f"/api/customers/{customer}")
        assert r.status_code == 200, r.text
        seen[who] = r.json()
        embedded = {o["sales_order_id"] for o in seen[who]["orders"]}
        assert embedded == await may_get(who), who
        listed = {o["sales_order_id"] for o in (await stack.as_(who, "GET", "/api/sales-orders")).json()}
        assert embedded == listed & {"SO-91001", "SO-91002", "SO-91003"}, who
    assert {o["sales_order_id"] for o in seen["alice"]["orders"]} == {"SO-91001"}
    assert (D(seen["alice"]["lifetime_revenue"]), D(seen["alice"]["lifetime_margin"])) == (1000, 300)
    assert D(seen["alice"]["delivered_revenue"]) == 1000 and "2500" not in str(seen["alice"])
    assert {o["sales_order_id"] for o in seen["amy"]["orders"]} == {"SO-91002", "SO-91003"}
    assert (D(seen["amy"]["lifetime_revenue"]), D(seen["amy"]["lifetime_margin"])) == (5700, 2500)
    for manager in ("bob", "grace"):  # the sales manager and finance see every order, as before
        assert len(seen[manager]["orders"]) == 3
        assert (D(seen[manager]["lifetime_revenue"]), D(seen[manager]["lifetime_margin"])) == (6700, 2800)


async def test_a_contact_qualified_twice_is_one_contact(stack):
    leads = []
    for email, contact in (("lucius@wayne.example", "Lucius Fox"), ("LUCIUS@Wayne.Example", "Lucius  Fox"),
                           ("l.fox@wayne.example", "Lucius Fox")):
        r = await stack.as_("alice", "POST", "/api/leads", json={
            "company": "Wayne Enterprises", "contact": contact, "email": email, "source": "referral",
            "estimated_value": "1000"})
        assert r.status_code == 201, r.text
        leads.append(r.json()["lead_id"])
    for number in leads:
        r = await stack.as_("alice", "POST", f"/api/leads/{number}/qualify", json={"decision": "qualified"})
        assert r.status_code == 200, r.text
    with stack.db.read() as s:
        [wayne] = s.execute(select(Customer).where(Customer.name_key == "wayne enterprises")).scalars().all()
        contacts = s.execute(select(Contact).where(Contact.customer_id == wayne.id)).scalars().all()
    assert [(c.name, c.email) for c in contacts] == [("Lucius Fox", "lucius@wayne.example")]
    r = await stack.as_("bob", "GET", f"/api/customers/{wayne.id}")
    assert r.json()["contacts"] == [{"name": "Lucius Fox", "email": "lucius@wayne.example", "phone": None}]
