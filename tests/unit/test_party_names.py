"""Customers, suppliers and contacts told apart by how their names look (issue 15, class 8), and the orders a
customer's page shows as far as the reader may open them (class 9), in SQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain import demo
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.crm.tables import Contact
from domain.parties import imports, master
from domain.parties.tables import Customer, Supplier
from domain.sales import access as sales_access
from domain.sales import services as sales_svc
from domain.sales.tables import SalesOrder

SAME_AS_GLOBEX = ["Glоbex Corporation", "Globex\u200bCorporation".replace("\u200bC", "\u200b C"), "Globex  Corporation",
                  "ＧＬＯＢＥＸ Corporation", "globex corporation", "Glοbex Cοrporation", " Globex\u00a0Corporation ",
                  "Globex\tCorporation", "GLОВЕХ CORPORATION"]


def count(s, cls) -> int:  # type: ignore[no-untyped-def]
    return int(s.execute(select(func.count()).select_from(cls)).scalar_one())


@pytest.mark.parametrize("name", SAME_AS_GLOBEX)
def test_a_customer_named_like_one_that_exists_is_refused_naming_it(db: Database, name: str) -> None:
    with db.read() as s:
        before = count(s, Customer)
    with pytest.raises(Conflict, match="customer 'Globex Corporation' exists already"), db.write() as s:
        master.create_named(s, Customer, {"name": name, "credit_limit": Decimal(0), "currency": "USD"})
    with db.read() as s:
        assert count(s, Customer) == before


@pytest.mark.parametrize("name", ["Acme Metals", "ACME  METALS", "Acme Mеtals", "Ａｃｍｅ Metals", "Acme\u200d Metals"])
def test_a_supplier_named_like_one_that_exists_is_refused_naming_it(db: Database, name: str) -> None:
    with pytest.raises(Conflict, match="supplier 'Acme Metals' exists already"), db.write() as s:
        master.create_named(s, Supplier, {"name": name, "currency": "USD"})
    with db.read() as s:
        assert count(s, Supplier) == 3


@pytest.mark.parametrize("name", ["Evil\u202eroC", "Globex\u2066 Corp", "Nul\x00Corp", "\u200b"])
def test_a_name_with_a_bidi_control_a_control_character_or_nothing_visible_is_refused(db: Database, name: str) -> None:
    with pytest.raises(Invalid, match=r"bidirectional control|control character|no visible"), db.write() as s:
        master.create_named(s, Customer, {"name": name, "currency": "USD"})
    with db.read() as s:
        assert count(s, Customer) == len(demo.CUSTOMERS) + 1  # and the history's (demo.HISTORY_CUSTOMER)


def test_a_new_name_is_stored_tidied_with_its_key(db: Database) -> None:
    with db.write() as s:
        row = master.create_named(s, Customer, {"name": "  Wayne   Enterprises ", "currency": "USD"})
        assert (row.name, row.name_key) == ("Wayne Enterprises", "wayne enterprises")
        row.name = "Wayne Enterprises Inc"  # a rename keeps the key in step
        assert row.name_key == "wayne enterprises inc"


def test_the_unique_index_decides_when_the_check_is_passed_by(db: Database) -> None:
    """What two creates at once come to: the second insert, past its own check, is refused by the index."""
    with pytest.raises(IntegrityError), db.write() as s:
        s.add(Customer(name="Glоbex Corporation", currency="USD"))  # Cyrillic о: another name, the same key
        s.flush()
    with pytest.raises(IntegrityError), db.write() as s:
        s.add(Supplier(name="VOLT MOTORS", currency="USD"))
        s.flush()


def test_the_items_file_names_its_supplier_as_names_compare(db: Database) -> None:
    text = ("sku,name,kind,uom,standard_cost,default_supplier\n"
            "NEW-1,New part,purchased,pcs,1.00,ACME  METALS\n"
            "NEW-2,New part,purchased,pcs,1.00,Acme Mеtals\n")
    with db.write() as s:
        assert imports.import_items(s, text)["created"] == 2
    with db.read() as s:
        acme = s.execute(select(Supplier.id).where(Supplier.name == "Acme Metals")).scalar_one()
        from domain.inventory.tables import Item
        assert set(s.execute(select(Item.default_supplier_id).where(Item.sku.in_(["NEW-1", "NEW-2"]))).scalars()) == {acme}


# --- contacts: one row per person ------------------------------------------------------------------------

def lead(number: str, company: str = "Wayne Enterprises", contact: str = "Lucius Fox",
         email: str = "lucius@wayne.example") -> crm.LeadDraft:
    return crm.LeadDraft(number=number, created_by="alice", owner="alice", lead=crm.LeadIn(
        company=company, contact=contact, email=email, source="referral", estimated_value=Decimal(1000)))  # type: ignore[arg-type]


@pytest.mark.parametrize(("company", "contact", "email"), [
    ("Wayne Enterprises", "Lucius Fox", "lucius@wayne.example"),  # the very same
    ("WAYNE  enterprises", "Lucius Fox", "Lucius@Wayne.Example"),  # the e-mail in another case
    ("Wayne Enterprises", "Lucius Fox", "l.fox@wayne.example"),  # the same name at the same customer
    ("Wаyne Enterprises", "LUCIUS  FОX", "fox@wayne.example"),  # ... looking the same
    ("Wayne Enterprises", "L. Fox", "LUCIUS@wayne.example"),  # the same e-mail under another name
])
def test_qualifying_a_second_lead_of_the_same_contact_reuses_the_contact(db: Database, company: str, contact: str,
                                                                         email: str) -> None:
    with db.write() as s:
        crm_svc.record_lead(s, lead("LD-00001"), "lead-1")
        crm_svc.record_lead(s, lead("LD-00002", company, contact, email), "lead-2")
        first = crm_svc.qualify(s, "LD-00001", customer_id=None, actor="alice")
        second = crm_svc.qualify(s, "LD-00002", customer_id=None, actor="alice")
        assert first.customer_id == second.customer_id and first.id != second.id
        contacts = s.execute(select(Contact).where(Contact.customer_id == first.customer_id)).scalars().all()
        assert [(c.name, c.email) for c in contacts] == [("Lucius Fox", "lucius@wayne.example")]


def test_another_person_at_the_customer_is_another_contact(db: Database) -> None:
    with db.write() as s:
        crm_svc.record_lead(s, lead("LD-00001"), "lead-1")
        crm_svc.record_lead(s, lead("LD-00002", contact="Bruce Wayne", email="bruce@wayne.example"), "lead-2")
        crm_svc.qualify(s, "LD-00001", customer_id=None, actor="alice")
        crm_svc.qualify(s, "LD-00002", customer_id=None, actor="alice")
        assert count(s, Contact) == 2


def test_the_contact_keys_hold_when_the_check_is_passed_by(db: Database) -> None:
    with db.write() as s:
        globex = s.execute(select(Customer.id).where(Customer.name == "Globex Corporation")).scalar_one()
        crm_svc.contact_for(s, globex, "Hank Scorpio", "hank@globex.example", "")
        s.flush()
    for name, email in (("Someone Else", "HANK@globex.example"), ("Hank  Scorpio", "other@globex.example")):
        with pytest.raises(IntegrityError), db.write() as s:
            s.add(Contact(customer_id=globex, name=name, email=email))
            s.flush()
    with db.write() as s:  # at another customer the same person is another row
        initech = s.execute(select(Customer.id).where(Customer.name == "Initech")).scalar_one()
        s.add(Contact(customer_id=initech, name="Hank Scorpio", email="hank@globex.example"))
        s.flush()
        assert count(s, Contact) == 2


def test_a_lead_with_a_bidi_control_in_its_company_or_contact_is_refused() -> None:
    for field in ("company", "contact"):
        with pytest.raises(ValueError, match="bidirectional control"):
            crm.LeadIn(**{"company": "Wayne", "contact": "Lucius", "email": "l@w.example", "source": "referral",  # type: ignore[arg-type]
                          "estimated_value": Decimal(1), field: "Way\u202ene"})


# --- the customer's orders as far as the reader may open them --------------------------------------------

def test_the_customer_summary_counts_only_the_orders_the_reader_may_open(db: Database) -> None:
    with db.write() as s:
        globex = s.execute(select(Customer).where(Customer.name == "Globex Corporation")).scalar_one()
        for number, owner, total, margin in (("SO-90001", "alice", "1000", "300"), ("SO-90002", "amy", "5000", "2500")):
            s.add(SalesOrder(number=number, customer_id=globex.id, status="completed", currency="USD",
                             total=Decimal(total), revenue=Decimal(total), margin=Decimal(margin), owner=owner,
                             process_id=f"p-{number}", idempotency_key=f"k-{number}"))
        s.flush()
        views = {who: sales_svc.customer_summary(s, globex, viewer=(who, roles))
                 for who, roles in (("alice", {"sales"}), ("amy", {"sales"}), ("bob", {"sales_manager"}),
                                    ("grace", {"finance"}), ("nobody", {"sales"}))}
        everything = sales_svc.customer_summary(s, globex)
    assert [o["sales_order_id"] for o in views["alice"]["orders"]] == ["SO-90001"]
    assert (views["alice"]["lifetime_revenue"], views["alice"]["delivered_revenue"],
            views["alice"]["lifetime_margin"]) == (Decimal("1000.00"), Decimal("1000"), Decimal("300"))
    assert [o["sales_order_id"] for o in views["amy"]["orders"]] == ["SO-90002"]
    assert views["amy"]["lifetime_margin"] == Decimal("2500")
    assert views["nobody"]["orders"] == [] and views["nobody"]["lifetime_margin"] is None
    assert views["nobody"]["lifetime_revenue"] == 0
    for who in ("bob", "grace"):
        assert views[who]["orders"] == everything["orders"] and len(everything["orders"]) == 2
        assert views[who]["lifetime_margin"] == Decimal("2800")
    assert sales_access.may_see_order("alice", {"sales"}, "alice") and not sales_access.may_see_order("alice", {"sales"}, "amy")
