"""The demo company of shared/API.md: loaded by `valueloop up --demo` into an empty database."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.approvals import services as approvals
from domain.approvals.rules import PolicyTier, StepSpec
from domain.crm import rules as crm
from domain.crm import services as crm_services
from domain.inventory import stock, uoms
from domain.inventory.tables import Item
from domain.manufacturing import boms
from domain.manufacturing.rules import BomIn, BomLineIn, WorkCentreIn
from domain.org import services as org
from domain.org.tables import Role, User, UserRole
from domain.parties.tables import Customer, Supplier
from domain.sales import pricing_policies as pricing
from domain.sales.pricing import PricingPolicy

ROLES: dict[str, str | None] = {
    # role: where its overdue tasks escalate to
    "employee": "manager", "sales": "sales_manager", "sales_manager": "cfo", "planner": "manager",
    "buyer": "manager", "manager": "cfo", "finance": "cfo", "cfo": None, "warehouse": "manager", "admin": None,
}
USERS: list[tuple[str, str, list[str], str | None]] = [
    # username, full name, roles, manager
    ("heidi", "Heidi Hall", ["cfo", "manager", "employee"], None),
    ("bob", "Bob Brown", ["sales_manager", "manager", "employee"], "heidi"),
    ("frank", "Frank Fischer", ["manager", "employee"], "heidi"),
    ("grace", "Grace Green", ["finance", "employee"], "heidi"),
    ("alice", "Alice Adams", ["sales", "employee"], "bob"),
    ("carol", "Carol Chen", ["planner", "employee"], "frank"),
    ("dave", "Dave Diaz", ["buyer", "employee"], "frank"),
    ("erin", "Erin Evans", ["employee"], "frank"),
    ("ivan", "Ivan Ivanov", ["warehouse", "employee"], "frank"),
    ("admin", "Administrator", ["admin"], None),
]
POLICIES: dict[str, list[tuple[str, list[tuple[str, str]]]]] = {
    "expense_claim": [("0", [("manager", "")]),
                      ("1000", [("manager", ""), ("role", "finance")]),
                      ("10000", [("manager", ""), ("role", "finance"), ("role", "cfo")])],
    "purchase_requisition": [("0", [("manager", "")]),
                             ("5000", [("manager", ""), ("role", "cfo")])],
    # Chains used only when their rule calls for them (a discount above 10 %, an order over credit).
    "quotation_discount": [("0", [("role", "sales_manager")])],
    "sales_credit": [("0", [("role", "finance")])],
    # A change to a production order (quantity or date): the planner's manager.
    "production_change": [("0", [("manager", "")])],
}
# Measured, not counted: a fan housing takes 2 m² of sheet (5 % scrap), paint is bought by the kilogram.
DEMO_UOMS = {"STEEL-SHEET": "m2", "PAINT-RED": "kg"}
SUPPLIERS = ["Acme Metals", "Volt Motors", "Northwind Components"]
CUSTOMERS = [("Globex Corporation", "50000"), ("Initech", "20000"), ("Umbrella Retail", "100000")]
ITEMS: list[tuple[str, str, str, str, int, str, str, str, str | None, str]] = [
    # sku, name, kind, standard cost, lead days, safety stock, min order qty, order multiple, supplier,
    # opening stock. An order for 10 FAN-200 is short: 5 fans on hand, 2 housings, 4 blade sets.
    ("STEEL-SHEET", "Steel sheet 2 mm", "purchased", "12.50", 5, "20", "50", "0", "Acme Metals", "120"),
    ("BOLT-M8", "Bolt M8 x 30", "purchased", "0.15", 3, "500", "1000", "500", "Acme Metals", "2000"),
    ("MOTOR-200W", "Motor 200 W", "purchased", "200.00", 10, "5", "10", "0", "Volt Motors", "30"),
    ("BEARING-6204", "Ball bearing 6204", "purchased", "3.20", 7, "20", "100", "0", "Volt Motors", "80"),
    ("PAINT-RED", "Powder paint red (kg)", "purchased", "8.00", 4, "10", "25", "0", "Northwind Components", "40"),
    ("BLADE-SET", "Fan blade set, 3 blades", "purchased", "18.00", 6, "0", "20", "10", "Northwind Components", "4"),
    ("FAN-HOUSING", "Fan housing", "manufactured", "45.00", 2, "0", "1", "0", None, "2"),
    ("FAN-200", "Industrial fan 200 W", "manufactured", "320.00", 3, "0", "1", "0", None, "5"),
]
# What quotations are reviewed against (domain/sales/pricing.py): item group and list price of what is sold.
PRICE_LIST: dict[str, tuple[str, str | None]] = {
    "FAN-200": ("fans", "500.00"), "FAN-HOUSING": ("fans", "70.00"), "MOTOR-200W": ("spares", "260.00"),
    "BLADE-SET": ("spares", "30.00"), "BEARING-6204": ("spares", "5.00"), "BOLT-M8": ("spares", "0.50"),
    "STEEL-SHEET": ("materials", None), "PAINT-RED": ("materials", None),
}
# The company's: at most 15 % under list, a margin of 15 % or more; under 0 % (a loss) the cfo approves too.
PRICING = [PricingPolicy(max_below_list_pct=Decimal(15), min_margin_pct=Decimal(15), cfo_margin_pct=Decimal(0))]
WORK_CENTRES = [("ASSEMBLY", "Final assembly", "40.00"), ("FABRICATION", "Sheet metal and paint", "35.00")]
# Two levels, costed near the standard costs: a housing 28.85 material + 0.4 h × (35 + 5 overhead) = 44.85;
# a fan 270.62 material + 1 h × (40 + 10 overhead) = 320.62.
BOMS = [
    BomIn(item_sku="FAN-HOUSING", work_centre="FABRICATION", labour_hours=Decimal("0.4"), overhead_rate=Decimal(5),
          issue_method="backflush", lines=[
              BomLineIn(component_sku="STEEL-SHEET", qty=Decimal(2), scrap_pct=Decimal(5)),
              BomLineIn(component_sku="BOLT-M8", qty=Decimal(4)),
              BomLineIn(component_sku="PAINT-RED", qty=Decimal("0.25"))]),
    BomIn(item_sku="FAN-200", work_centre="ASSEMBLY", labour_hours=Decimal(1), overhead_rate=Decimal(10),
          issue_method="kitted", lines=[
              BomLineIn(component_sku="MOTOR-200W", qty=Decimal(1)),
              BomLineIn(component_sku="FAN-HOUSING", qty=Decimal(1)),
              BomLineIn(component_sku="BLADE-SET", qty=Decimal(1)),
              BomLineIn(component_sku="BEARING-6204", qty=Decimal(2)),
              BomLineIn(component_sku="BOLT-M8", qty=Decimal(8), scrap_pct=Decimal(2))]),
]


@lru_cache
def _demo_hash() -> str:
    return org.hash_password("demo")  # one argon2 hash for every demo user (they share the password)


def _listed(price: str | None) -> Decimal | None:
    return None if price is None else Decimal(price)


def seed_reference(session: Session) -> None:
    """What every company needs: roles, the chart of accounts and the units of measure. Idempotent."""
    have = set(session.execute(select(Role.name)).scalars())
    for name in ROLES:
        if name not in have:
            session.add(Role(name=name, escalates_to=None))
    session.flush()
    for name, esc in ROLES.items():
        session.get_one(Role, name).escalates_to = esc
    ledger.ensure_chart(session)
    uoms.ensure_defaults(session)  # units of measure (ea whole, kg not, ...)
    session.flush()


def is_empty(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def load(session: Session) -> bool:
    """Load the demo company if the database has no users yet. Returns whether it loaded."""
    seed_reference(session)
    if not is_empty(session):
        return False
    ids: dict[str, int] = {}
    for username, full_name, roles, manager in USERS:
        user = User(username=username, full_name=full_name, email=f"{username}@demo.valueloop.dev",
                    password_hash=_demo_hash(), manager_id=ids[manager] if manager else None)
        user.role_rows = [UserRole(role=r) for r in roles]
        session.add(user)
        session.flush()
        ids[username] = user.id
    for kind, tiers in POLICIES.items():
        approvals.replace_policy(session, kind, [
            PolicyTier(above=Decimal(above), steps=[StepSpec(kind=k, value=v) for k, v in steps])
            for above, steps in tiers])
    crm_services.replace_rules(session, list(crm.DEFAULT_SCORING_RULES))
    pricing.replace_policies(session, PRICING)
    suppliers = {}
    for name in SUPPLIERS:
        sup = Supplier(name=name, currency="USD")
        session.add(sup)
        session.flush()
        suppliers[name] = sup.id
    for name, limit in CUSTOMERS:
        session.add(Customer(name=name, credit_limit=Decimal(limit), currency="USD"))
    for sku, name, kind, cost, lead, safety, moq, multiple, supplier, _opening in ITEMS:
        session.add(Item(sku=sku, name=name, kind=kind, uom=DEMO_UOMS.get(sku, "ea"), standard_cost=Decimal(cost), lead_time_days=lead,
                         safety_stock=Decimal(safety), min_order_qty=Decimal(moq), order_multiple=Decimal(multiple),
                         default_supplier_id=suppliers[supplier] if supplier else None,
                         item_group=PRICE_LIST[sku][0], list_price=_listed(PRICE_LIST[sku][1])))
    session.flush()
    for code, name, hourly in WORK_CENTRES:
        boms.create_work_centre(session, WorkCentreIn(code=code, name=name, hourly_cost=Decimal(hourly)))
    boms.save_boms(session, BOMS)
    opening_value = Decimal(0)
    for sku, _n, _k, cost, *_rest, opening in ITEMS:
        entry = stock.move(session, sku, Decimal(opening), unit_cost=Decimal(cost), voucher_type="opening_stock",
                           voucher_no="OPENING", key=f"demo:opening:{sku}", reason="opening stock")
        opening_value += entry.value_change
    ledger.post(session, accounting.entry("Opening stock", {accounting.INVENTORY: opening_value},
                                          {accounting.OPENING_EQUITY: opening_value}),
                "opening_stock", "OPENING", "demo:opening:journal")
    return True
