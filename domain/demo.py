"""The demo company of shared/API.md: loaded by `valueloop up --demo` into an empty database."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.accounting.tables import ExchangeRate
from domain.approvals import services as approvals
from domain.approvals.rules import PolicyTier, StepSpec
from domain.cash import services as cash
from domain.cash.rules import CashPolicy, Direction, DunningPolicy, InvoiceKind, MatchPolicy, PaymentIn
from domain.core.money import money
from domain.core.types import utcnow
from domain.crm import rules as crm
from domain.crm import services as crm_services
from domain.forms import services as forms
from domain.forms.rules import FormTypeIn
from domain.forms.tables import LeaveBalance
from domain.inventory import stock, uoms
from domain.inventory.tables import Item
from domain.manufacturing import boms, capacity_demo
from domain.manufacturing.rules import BomIn, BomLineIn, WorkCentreIn
from domain.org import company, grants
from domain.org import services as org
from domain.org.company import CompanySettings
from domain.org.tables import Role, User, UserRole
from domain.parties.tables import Customer, PartySettings, Supplier
from domain.processes import ids
from domain.quality import demo as quality_demo
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
    ("tom", "Tom Tan", ["it", "employee"], "frank"),
    ("lena", "Lena Li", ["legal", "employee"], "heidi"),
]
# Roles of the demo company alone (a company started without --demo makes its own): role -> where it escalates.
DEMO_ROLES: dict[str, str | None] = {"it": "manager", "legal": "cfo"}
LEAVE_DAYS = Decimal(15)  # every demo user's leave this year
# The office forms of the demo (issue 19): what admin could have designed in the form designer.
FORMS: list[dict[str, object]] = [
    {"key": "leave", "name": "Leave request", "description": "Time off: more than 3 days needs the manager's manager too.",
     "fields": [
         {"name": "leave_type", "label": "Type of leave", "type": "choice", "required": True,
          "choices": ["annual", "sick", "personal"]},
         {"name": "from", "label": "From", "type": "date", "required": True},
         {"name": "to", "label": "To", "type": "date", "required": True},
         {"name": "days", "label": "Days", "type": "number", "required": True, "min": "0.5", "max": "60"},
         {"name": "deputy", "label": "Deputy while away", "type": "user", "required": True},
         {"name": "reason", "label": "Reason", "type": "text"}],
     "route": [{"name": "Manager", "approver": "manager"},
               {"name": "Manager's manager", "approver": "manager_of_manager",
                "when": {"field": "days", "op": ">", "value": "3"}}]},
    {"key": "business_trip", "name": "Business trip",
     "description": "A trip, with a cash advance settled by the trip's expense claim.",
     "fields": [
         {"name": "destination", "label": "Destination", "type": "text", "required": True},
         {"name": "from", "label": "From", "type": "date", "required": True},
         {"name": "to", "label": "To", "type": "date", "required": True},
         {"name": "purpose", "label": "Purpose", "type": "text", "required": True},
         {"name": "advance", "label": "Cash advance", "type": "money", "min": "0"}],
     "route": [{"name": "Manager", "approver": "manager"},
               {"name": "Finance", "approver": "role:finance", "when": {"field": "advance", "op": ">", "value": "2000"}}]},
    {"key": "contract", "name": "Contract approval", "description": "A contract to sign, its text attached.",
     "fields": [
         {"name": "counterparty", "label": "Counterparty", "type": "text", "required": True},
         {"name": "amount", "label": "Amount", "type": "money", "required": True, "min": "0"},
         {"name": "contract_file", "label": "Contract", "type": "attachment", "required": True}],
     "route": [{"name": "Manager", "approver": "manager"},
               {"name": "Legal", "approver": "role:legal"},
               {"name": "CFO", "approver": "role:cfo", "when": {"field": "amount", "op": ">", "value": "50000"}}]},
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
SUPPLIER_TERMS = {"Acme Metals": 30, "Volt Motors": 45, "Northwind Components": 30}  # net days
DEFAULT_CREDIT_LIMIT = Decimal(10000)  # of a customer created from a lead

CUSTOMERS = [("Globex Corporation", "50000"), ("Initech", "20000"), ("Umbrella Retail", "100000")]
# --- the history (issue 17): what aging, dunning, the credit hold and the month-end close show on day one ---
COMPANY = CompanySettings(name="Valueloop Demo Manufacturing", base_currency="USD", fiscal_year_start=1,
                          time_zone="Asia/Shanghai")
# Company-currency (USD) units per unit, a rate a week over the last 18 weeks, drifting a little.
RATES = {"EUR": Decimal("1.0850"), "CNY": Decimal("0.1380"), "GBP": Decimal("1.2700")}
RATE_WEEKS = 18
CASH_POLICY = CashPolicy(dunning=DunningPolicy(reminder_days=3, levels=[7, 14, 30], hold_after_days=30),
                         match=MatchPolicy(price_pct=Decimal(2), amount=Decimal(10)))
# A customer of the history alone (the other customers' credit stays as the tests and the tour expect): two
# invoices still open, issued 95 and 45 days ago (net 30: 65 and 15 days past due, so on credit hold), part of the
# older one paid last month.
HISTORY_CUSTOMER = ("Stark Industries", "60000")
HISTORY_INVOICES: list[tuple[int, str, str, str]] = [  # days ago, sku, qty, unit price (net; 10 % tax on top)
    (95, "FAN-200", "20", "480.00"), (45, "MOTOR-200W", "5", "260.00")]
HISTORY_RECEIPT = ("DEMO-TT-0001", Decimal("3000.00"))  # paid on the 12th of last month, against the oldest
# Northwind's bill for servicing the paint line, dated last month, net 30 (due this month), not yet paid.
HISTORY_BILL = ("NW-2291", "Servicing of the powder paint line", Decimal("1850.00"))
OTHER_EXPENSES = "6900"  # of the chart (domain/accounting/rules.py CHART)
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
    grants.seed(session)  # permissions as data: each action's default roles, once
    ledger.ensure_chart(session)
    uoms.ensure_defaults(session)  # units of measure (ea whole, kg not, ...)
    session.flush()


def is_empty(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def first_admin(session: Session, password: str) -> bool:
    """A company started without the demo gets one user, admin, who creates the others (POST /api/users); False,
    nothing changed, when it has users already."""
    seed_reference(session)
    if not is_empty(session):
        return False
    org.create_user(session, "admin", password, ["admin"], full_name="Administrator")
    return True


def load(session: Session) -> bool:
    """Load the demo company if the database has no users yet. Returns whether it loaded."""
    seed_reference(session)
    if not is_empty(session):
        return False
    ids: dict[str, int] = {}
    for name, esc in DEMO_ROLES.items():
        session.add(Role(name=name, escalates_to=esc))
    session.flush()
    for username, full_name, roles, manager in USERS:
        user = User(username=username, full_name=full_name, email=f"{username}@demo.valueloop.dev",
                    password_hash=_demo_hash(), manager_id=ids[manager] if manager else None)
        user.role_rows = [UserRole(role=r) for r in roles]
        session.add(user)
        session.flush()
        ids[username] = user.id
    load_office(session, ids)
    for kind, tiers in POLICIES.items():
        approvals.replace_policy(session, kind, [
            PolicyTier(above=Decimal(above), steps=[StepSpec(kind=k, value=v) for k, v in steps])
            for above, steps in tiers])
    crm_services.replace_rules(session, list(crm.DEFAULT_SCORING_RULES))
    pricing.replace_policies(session, PRICING)
    suppliers = {}
    for name in SUPPLIERS:
        sup = Supplier(name=name, currency="USD", payment_terms_days=SUPPLIER_TERMS[name])
        session.add(sup)
        session.flush()
        suppliers[name] = sup.id
    for name, limit in CUSTOMERS:
        session.add(Customer(name=name, credit_limit=Decimal(limit), currency="USD"))
    # A customer created from a lead starts with this credit limit (domain.parties.master.settings).
    session.add(PartySettings(id=1, default_credit_limit=DEFAULT_CREDIT_LIMIT, updated_by="demo"))
    for sku, name, kind, cost, lead, safety, moq, multiple, supplier, _opening in ITEMS:
        session.add(Item(sku=sku, name=name, kind=kind, uom=DEMO_UOMS.get(sku, "ea"), standard_cost=Decimal(cost), lead_time_days=lead,
                         safety_stock=Decimal(safety), min_order_qty=Decimal(moq), order_multiple=Decimal(multiple),
                         default_supplier_id=suppliers[supplier] if supplier else None,
                         item_group=PRICE_LIST[sku][0], list_price=_listed(PRICE_LIST[sku][1])))
    session.flush()
    for code, name, hourly in WORK_CENTRES:
        boms.create_work_centre(session, WorkCentreIn(code=code, name=name, hourly_cost=Decimal(hourly)))
    boms.save_boms(session, BOMS)
    capacity_demo.load(session)  # calendars and routings (issue 20)
    quality_demo.load(session)  # blade sets are inspected when they come in (issue 20)
    opening_value = Decimal(0)
    for sku, _n, _k, cost, *_rest, opening in ITEMS:
        entry = stock.move(session, sku, Decimal(opening), unit_cost=Decimal(cost), voucher_type="opening_stock",
                           voucher_no="OPENING", key=f"demo:opening:{sku}", reason="opening stock")
        opening_value += entry.value_change
    ledger.post(session, accounting.entry("Opening stock", {accounting.INVENTORY: opening_value},
                                          {accounting.OPENING_EQUITY: opening_value}),
                "opening_stock", "OPENING", "demo:opening:journal")
    load_history(session, suppliers)
    return True


def load_office(session: Session, users: dict[str, int], today: date | None = None) -> None:
    """The office side of the demo: every user's leave this year (and next: a December request may run into
    January), and the demo's form types."""
    year = (today or utcnow().date()).year
    for username in users:
        for y in (year, year + 1):
            session.add(LeaveBalance(username=username, year=y, days_granted=LEAVE_DAYS, days_taken=Decimal(0)))
    session.flush()
    for form in FORMS:
        forms.save(session, "admin", FormTypeIn.model_validate(form), new=True)


def load_history(session: Session, suppliers: dict[str, int], today: date | None = None) -> None:
    """The company's settings, exchange rates, the cash policy, and a little history through the services that
    post it (so the sub-ledgers equal their control accounts from the start): a customer with two open invoices
    (95 and 45 days old, on credit hold), a receipt and a supplier's bill dated last month. Moves no stock and
    touches none of the other demo customers. The invoices' collection processes are started by `valueloop up
    --demo` (api/starters/invoice_collection.py): the domain starts no process."""
    today = today or utcnow().date()
    company.save(session, COMPANY)
    for currency, base in RATES.items():
        for week in range(RATE_WEEKS, -1, -1):
            drift = Decimal(1) + Decimal((week * 7) % 5 - 2) / Decimal(400)  # within ±0.5 %
            session.add(ExchangeRate(currency=currency, valid_from=today - timedelta(days=7 * week),
                                     rate=(base * drift).quantize(Decimal("0.000001")), entered_by="demo"))
    session.flush()
    cash.save_policy(session, CASH_POLICY, by="demo")
    name, limit = HISTORY_CUSTOMER
    stark = Customer(name=name, credit_limit=Decimal(limit), currency="USD", payment_terms_days=30)
    session.add(stark)
    session.flush()
    for days, sku, qty, price in HISTORY_INVOICES:
        net = Decimal(qty) * Decimal(price)
        inv = cash.issue(session, kind=InvoiceKind.CUSTOMER, party_id=stark.id, tax=money(net / 10),
                         issued_on=today - timedelta(days=days), currency="USD", key=f"demo:invoice:{days}",
                         process_id="", owner="alice", created_by="demo",
                         lines=[cash.LineIn(sku=sku, qty=Decimal(qty), unit_price=Decimal(price), net=net)])
        inv.process_id = ids.invoice(inv.number)  # its process row and process: api/starters/invoice_collection.py
    last_month = today.replace(day=1) - timedelta(days=1)
    reference, amount = HISTORY_RECEIPT
    cash.record_payment(session, PaymentIn(direction=Direction.IN, party_id=stark.id, amount=amount, currency="USD",
                                           paid_on=last_month.replace(day=12), reference=reference), by="grace")
    ref, what, cost = HISTORY_BILL
    bill = cash.issue(session, kind=InvoiceKind.SUPPLIER, party_id=suppliers["Northwind Components"], tax=Decimal(0),
                      issued_on=last_month.replace(day=20), currency="USD", key="demo:bill:1", process_id="",
                      owner="dave", created_by="demo", supplier_ref=ref, other_side={OTHER_EXPENSES: cost},
                      lines=[cash.LineIn(sku="SERVICE", qty=Decimal(1), unit_price=cost, net=cost, description=what)])
    bill.process_id = ids.invoice(bill.number)
    session.flush()
