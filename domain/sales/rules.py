"""Quotations and sales orders as pure rules: pricing with discounts and tax, when a discount needs
approval, margin at standard cost, validity, and the credit check. No I/O: workflows import this."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain import permissions
from domain.approvals.rules import ChainStep
from domain.core.errors import Conflict, DomainError, Forbidden, Invalid
from domain.core.limits import MAX_QTY
from domain.core.money import MAX_AMOUNT, MAX_VALUE, money
from domain.core.numbers import PlainDecimal
from domain.inventory.rules import one_line_per_sku
from domain.org.people import Actor
from domain.sales.promises import LinePromise


class QuotationStatus(StrEnum):
    """A quotation's status (its row's `status`, equal to the string stored there). SUBMITTED is its process's
    before the quotation is recorded."""

    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"  # its price review asks the sales manager (and maybe the cfo) first
    SENT = "sent"
    PENDING_CREDIT_APPROVAL = "pending_credit_approval"  # accepted over the customer's credit: finance decides
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class SalesOrderStatus(StrEnum):
    """A sales order's status (its row's `status`, equal to the string stored there)."""

    PENDING_CREDIT = "pending_credit"  # entered directly, over the customer's credit: finance decides
    OPEN = "open"
    IN_FULFILMENT = "in_fulfilment"
    COMPLETED = "completed"  # delivered
    CANCELLED = "cancelled"
    REJECTED = "rejected"  # finance refused the credit


class FulfilmentStatus(StrEnum):
    """Where an order's fulfilment process stands, as its query and Updates answer (not stored: the order's own
    status is SalesOrderStatus; a closing one is written there too)."""

    RESERVING = "reserving"
    PENDING_CREDIT_APPROVAL = "pending_credit_approval"
    WAITING_FOR_STOCK = "waiting for stock"  # started before production existed: it only waits
    RESERVED = "reserved"  # the same
    PLANNING = "planning"
    WAITING_FOR_SUPPLY = "waiting for supply"
    READY_TO_DELIVER = "ready to deliver"
    DELIVERING = "delivering"
    PARTIALLY_DELIVERED = "partially delivered"  # some delivered, the rest reserved and waiting for its delivery
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


DEFAULT_DISCOUNT_LIMIT = Decimal(10)  # demo policy: any line above 10 % goes to the sales manager first
HUNDRED = Decimal(100)


class QuotationLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    unit_price: PlainDecimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=4)
    discount_pct: PlainDecimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)


class PricedLine(BaseModel):
    sku: str
    qty: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    gross: Decimal  # qty × unit price
    discount: Decimal
    net: Decimal  # what the customer pays for the line, before tax


class Pricing(BaseModel):
    lines: list[PricedLine]
    subtotal: Decimal  # sum of gross
    discount_total: Decimal
    net_total: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


def price(lines: list[QuotationLineIn], tax_rate: Decimal = Decimal(0)) -> Pricing:
    """Line by line, each rounded to the cent; tax on the net total (one rounding, no drift)."""
    if not lines:
        raise Invalid("a quotation needs at least one line")
    one_line_per_sku([ln.sku for ln in lines], "quotation")
    if not Decimal(0) <= tax_rate <= HUNDRED:
        raise Invalid("the tax rate must be between 0 and 100 %")
    priced = []
    for ln in lines:
        gross = money(ln.qty * ln.unit_price)
        discount = money(gross * ln.discount_pct / HUNDRED)
        priced.append(PricedLine(sku=ln.sku, qty=ln.qty, unit_price=ln.unit_price, discount_pct=ln.discount_pct,
                                 gross=gross, discount=discount, net=gross - discount))
    subtotal = sum((p.gross for p in priced), Decimal(0))
    discount_total = sum((p.discount for p in priced), Decimal(0))
    net_total = subtotal - discount_total
    tax = money(net_total * tax_rate / HUNDRED)
    total = net_total + tax
    if total > MAX_VALUE:
        raise Invalid(f"a quotation of {total} is over the limit of {MAX_VALUE}; check quantities and prices")
    return Pricing(lines=priced, subtotal=subtotal, discount_total=discount_total, net_total=net_total,
                   tax_rate=tax_rate, tax=tax, total=total)


def needs_discount_approval(lines: list[QuotationLineIn], limit: Decimal = DEFAULT_DISCOUNT_LIMIT) -> bool:
    """Any line discounted beyond the limit sends the quotation to the sales manager first."""
    return any(ln.discount_pct > limit for ln in lines)


class Margin(BaseModel):
    revenue: Decimal
    cost: Decimal
    margin: Decimal
    margin_pct: Decimal | None  # None when there is no revenue


def margin_at_standard(pricing: Pricing, standard_costs: dict[str, Decimal]) -> Margin:
    """What an approver needs beside a discount: the margin left at standard cost."""
    return margin_of(pricing.net_total, [(p.sku, p.qty) for p in pricing.lines], standard_costs)


def margin_of(revenue: Decimal, quantities: list[tuple[str, Decimal]], standard_costs: dict[str, Decimal]) -> Margin:
    missing = [sku for sku, _ in quantities if sku not in standard_costs]
    if missing:
        raise Invalid(f"no standard cost for {', '.join(missing)}")
    cost = money(sum((qty * standard_costs[sku] for sku, qty in quantities), Decimal(0)))
    margin = revenue - cost
    pct = (margin / revenue * HUNDRED).quantize(Decimal("0.1")) if revenue else None
    return Margin(revenue=revenue, cost=cost, margin=margin, margin_pct=pct)


def valid_until(issued: date, valid_days: int) -> date:
    if not 1 <= valid_days <= 365:
        raise Invalid("a quotation is valid for 1 to 365 days")
    return issued + timedelta(days=valid_days)


def reminder_date(issued: date, until: date, days_before: int = 2) -> date | None:
    """The day the salesperson is reminded before expiry; None when the quotation is too short for it."""
    day = until - timedelta(days=days_before)
    return day if days_before > 0 and day > issued else None


# The customer said yes (finance may still be checking).
ANSWERED = (QuotationStatus.ACCEPTED, QuotationStatus.PENDING_CREDIT_APPROVAL)


def check_acceptable(number: str, status: str, until: date, today: date) -> None:
    """A customer may accept a sent quotation that has not expired; anything else is a state conflict."""
    if status in ANSWERED:
        raise Conflict(f"quotation {number} is already accepted" + (
            "; finance is checking the customer's credit" if status == QuotationStatus.PENDING_CREDIT_APPROVAL
            else ""))
    if status == QuotationStatus.EXPIRED or (status == QuotationStatus.SENT and today > until):
        raise Conflict(f"quotation {number} expired on {until}")
    if status != QuotationStatus.SENT:
        raise Conflict(f"quotation {number} is {status.replace('_', ' ')}; only a sent quotation can be accepted")


def check_may_answer(actor: Actor, number: str, answer: Literal["accept", "reject"], reason: str, *,
                     owner: str | None, status: str, valid_until: date | None, today: date, answered: str | None,
                     answered_by: str | None, accepting: bool, withdrawn: str | None) -> None:
    """May `actor` record the customer's `answer` (a rejection with its `reason`) to quotation `number`? Its
    salesperson `owner` (None, with `valid_until`, while the quotation is being recorded) or whoever may answer any,
    once: not after an answer (`answered` by `answered_by`), nor while a yes is being recorded (`accepting`), nor
    once its opportunity withdrew it (`withdrawn`, why); and only a sent quotation not expired (`check_acceptable`)."""
    if owner is None or valid_until is None:
        raise Conflict(f"quotation {number} is still being recorded")
    if actor.username != owner and not permissions.may(actor.roles, permissions.Action.QUOTATION_ANSWER_ANY):
        raise Forbidden(f"only {owner} (the salesperson), a sales manager or an admin can record the customer's "
                        "answer")
    if answered is not None:
        # The answer counts before the status moves on: say the answer, not a status still "sent".
        raise Conflict(f"quotation {number} is already {'accepted' if answered == 'accept' else 'rejected'} (by "
                       f"{answered_by}); only a sent quotation can be answered")
    if accepting:
        raise Conflict(f"the customer's acceptance of quotation {number} is being recorded")
    if withdrawn is not None:
        raise Conflict(f"quotation {number} was withdrawn ({withdrawn})")
    check_acceptable(number, status, valid_until, today)
    if answer == "reject" and not reason:
        raise Invalid("say why the customer rejected the quotation")


def may_answer(actor: Actor, owner: str, status: str, valid_until: date, today: date) -> bool:
    """check_may_answer as a yes or no, on the quotation as its row shows it (an answer being recorded, a
    withdrawal on its way are the process's alone to see): what the quotation page asks before it offers the
    customer's answer. A quotation past its last valid day is refused even while its row still says sent."""
    try:
        check_may_answer(actor, "", "accept", "", owner=owner, status=status, valid_until=valid_until, today=today,
                         answered=None, answered_by=None, accepting=False, withdrawn=None)
    except DomainError:
        return False
    return True


class Overdue(BaseModel):
    """A customer's oldest open invoice past due: what the credit hold is about."""

    number: str
    due_on: date
    days: int  # past due, on the day of the check


class CreditCheck(BaseModel):
    credit_limit: Decimal
    open_receivables: Decimal  # open invoices less credit notes and unused payments, company currency
    open_orders: Decimal  # open sales orders (other than this one)
    order_value: Decimal
    exposure: Decimal  # what the customer would owe us with this order
    available: Decimal  # credit left before this order (never below zero)
    over_limit: bool
    accepted_quotations: Decimal = Decimal(0)  # accepted, their order not created yet
    oldest_overdue: Overdue | None = None
    hold_after_days: int | None = None
    on_hold: bool = False  # the oldest overdue invoice is past the dunning policy's hold days
    needs_approval: bool = False  # over the limit or on hold: finance approves the order first


def credit_check(credit_limit: Decimal, open_receivables: Decimal, open_orders: Decimal,
                 order_value: Decimal, accepted_quotations: Decimal = Decimal(0), oldest_overdue: Overdue | None = None,
                 hold_after_days: int | None = None) -> CreditCheck:
    """Order value plus the customer's open receivables, open orders and accepted quotations not yet ordered,
    against the credit limit; and the credit hold: an invoice more than `hold_after_days` past due (as
    domain.cash.rules.on_hold). Over the limit or on hold, finance approves before the order is created."""
    for name, value in (("credit limit", credit_limit), ("open receivables", open_receivables),
                        ("open orders", open_orders), ("order value", order_value),
                        ("accepted quotations", accepted_quotations)):
        if value < 0:
            raise Invalid(f"{name} cannot be negative")
    owed = open_receivables + open_orders + accepted_quotations
    exposure = owed + order_value
    available = max(Decimal(0), credit_limit - owed)
    over = exposure > credit_limit
    hold = oldest_overdue is not None and hold_after_days is not None and oldest_overdue.days > hold_after_days
    return CreditCheck(credit_limit=credit_limit, open_receivables=open_receivables, open_orders=open_orders,
                       accepted_quotations=accepted_quotations, order_value=order_value, exposure=exposure,
                       available=available, over_limit=over, oldest_overdue=oldest_overdue,
                       hold_after_days=hold_after_days, on_hold=hold, needs_approval=over or hold)


def credit_reason(over_limit: bool, on_hold: bool) -> str:
    """Why finance approves an order, as its approval's title says it."""
    return " and ".join(why for why, yes in (("over the customer's credit limit", over_limit),
                                             ("the customer is on credit hold", on_hold)) if yes)


class CreditDecision(BaseModel):
    """What a credit check decided for an order or an accepted quotation: finance's chain when it needs
    approval (empty: it does not), and why. Histories recorded before the credit hold hold the bare chain (a
    list): read as a chain over the limit."""

    steps: list[ChainStep] = []
    over_limit: bool = False
    on_hold: bool = False

    @model_validator(mode="before")
    @classmethod
    def _bare_chain(cls, v: object) -> object:
        if isinstance(v, list):
            return {"steps": v, "over_limit": bool(v)}
        return v

    @property
    def reason(self) -> str:
        return credit_reason(self.over_limit, self.on_hold) or "over the customer's credit limit"


class QuotationDraft(BaseModel):
    """A quotation as the salesperson made it, numbered: what its process records."""

    number: str
    opportunity: str
    created_by: str
    issued_on: date
    valid_days: int = Field(ge=1, le=365)
    tax_rate: Decimal = Field(default=Decimal(0), ge=0, le=100)
    lines: list[QuotationLineIn] = Field(min_length=1, max_length=200)
    id_prefix: str = ""  # of the sales order's process id (tests keep business keys apart with it)
    # Capable-to-promise, as the API asked planning when the quotation was made (one per line, in order; none on
    # histories recorded before promises), and the day the customer wants the goods.
    requested_date: date | None = None
    promises: list[LinePromise] = Field(default=[], max_length=200)


OPEN_ORDER_STATUSES = (SalesOrderStatus.PENDING_CREDIT, SalesOrderStatus.OPEN, SalesOrderStatus.IN_FULFILMENT)


class QuotationRecorded(BaseModel):
    status: QuotationStatus
    total: Decimal
    customer_id: int
    owner: str  # the opportunity's salesperson
    valid_until: date
    customer: str = ""
    currency: str = "USD"
    max_discount_pct: Decimal = Decimal(0)
    discount_steps: list[ChainStep] = []  # the chain when a discount needs approval
    # Its price review (domain/sales/pricing.py): why it needs approval and the margin at standard cost. Histories
    # recorded before the review have none of these (the defaults): the title stays the discount's.
    review_reasons: list[str] = []
    margin: Decimal | None = None
    margin_pct: Decimal | None = None
    needs_cfo: bool = False


class AcceptCommand(BaseModel):
    """The customer's answer, as the salesperson records it; a rejection says why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    actor: Actor
    reason: str = Field(default="", max_length=500)


class QuoteCommand(BaseModel):
    """A new quotation on the opportunity, numbered by the API: the opportunity's process starts it."""

    actor: Actor
    draft: QuotationDraft


class Accepted(BaseModel):
    status: QuotationStatus  # accepted | pending_credit_approval | rejected
    sales_order_id: str | None = None


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    unit_price: PlainDecimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=4)


class OrderRef(BaseModel):
    """What an order's fulfilment process starts from: an order already recorded (from a quotation,
    credit checked there), or a direct order to record and credit-check first (`lines` given)."""

    number: str
    owner: str
    customer_id: int | None = None
    lines: list[OrderLineIn] = []
    requested_date: date | None = None
    total: Decimal = Decimal(0)
    generation: int = 0  # the workflow code generation that started its process (workflows.common.GENERATION)


class Reservation(BaseModel):
    """What reserving an order's lines left short: sku -> quantity still missing (empty: all reserved). The
    reserve_sales_order activity answers `short` itself (its recorded histories hold the bare mapping)."""

    short: dict[str, str]


def check_may_cancel_order(actor: Actor, number: str, owner: str, status: str, *, cancel_by: str | None,
                           deliver_by: str | None, supply_ordered: bool) -> None:
    """May `actor` cancel sales order `number` of salesperson `owner`, in `status`? Its salesperson or whoever may
    cancel any order, once (`cancel_by`), before it is delivered (`deliver_by`) and before supply was ordered for it
    (`supply_ordered`: production and purchasing under way)."""
    if actor.username != owner and not permissions.may(actor.roles, permissions.Action.SALES_ORDER_CANCEL):
        raise Forbidden(f"only {owner} (the salesperson), a sales manager or an admin can cancel sales order {number}")
    if cancel_by is not None:  # a cancel during reservation is honoured right after it
        raise Conflict(f"a cancel of sales order {number} was already requested by {cancel_by}; it is being done")
    if status == FulfilmentStatus.COMPLETED or deliver_by is not None:
        raise Conflict(f"sales order {number} is "
                       f"{'delivered' if status == FulfilmentStatus.COMPLETED else 'being delivered'}; "
                       "only an order not yet delivered can be cancelled")
    if supply_ordered:
        raise Conflict(f"sales order {number} is {status}: production and purchasing are under way for it, so it can "
                       "no longer be cancelled")


def may_cancel_order(actor: Actor, owner: str, status: str, *, supply_ordered: bool) -> bool:
    """check_may_cancel_order as a yes or no, for an order in `status` (its process's; "delivering" once a delivery
    is under way; a cancel already asked aside): what a page asks before it offers to cancel a sales order."""
    try:
        check_may_cancel_order(actor, "", owner, status, cancel_by=None,
                               deliver_by="" if status == FulfilmentStatus.DELIVERING else None,
                               supply_ordered=supply_ordered)
    except DomainError:
        return False
    return True


def check_may_deliver_order(actor: Actor, number: str, owner: str, status: str, *, cancel_by: str | None,
                            deliver_by: str | None, short: Mapping[str, object]) -> None:
    """May `actor` deliver sales order `number` of salesperson `owner`, in `status`? Its salesperson or whoever may
    deliver any order, once (`deliver_by`), unless it is being cancelled (`cancel_by`), when it is ready to deliver;
    waiting for supply, the refusal says what is `short` (sku -> quantity)."""
    if actor.username != owner and not permissions.may(actor.roles, permissions.Action.SALES_ORDER_DELIVER):
        raise Forbidden(f"only the warehouse, {owner} (the salesperson) or an admin can deliver sales order {number}")
    if deliver_by is not None:
        raise Conflict(f"sales order {number} is already "
                       f"{'delivered' if status == FulfilmentStatus.COMPLETED else 'being delivered'}"
                       f" (by {deliver_by}); nothing more to deliver")
    if cancel_by is not None:
        raise Conflict(f"sales order {number} is being cancelled (by {cancel_by}); it can no longer be delivered")
    if status != FulfilmentStatus.READY_TO_DELIVER:
        detail = ", ".join(f"{sku} short {q}" for sku, q in short.items())
        raise Conflict(f"sales order {number} is {status}"
                       + (f" ({detail})" if detail and status == FulfilmentStatus.WAITING_FOR_SUPPLY else "")
                       + ": only an order ready to deliver can be delivered")


def order_total(lines: list[OrderLineIn]) -> Decimal:
    if not lines:
        raise Invalid("a sales order needs at least one line")
    one_line_per_sku([ln.sku for ln in lines], "order")
    total = money(sum((ln.qty * ln.unit_price for ln in lines), Decimal(0)))
    if total > MAX_VALUE:
        raise Invalid(f"an order of {total} is over the limit of {MAX_VALUE}")
    return total
