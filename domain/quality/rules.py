"""Quality as pure rules: what an inspection of a quarantine lot may record (accepted and rejected add up to the lot,
a reason for anything rejected, by someone who may inspect, once), how rejected goods go back to the supplier (before
the bill: the receipt is reduced; once billed: a debit note against the bill), the reason codes (rejection and
scrap) and first-pass yield. No I/O: workflows import this."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain import permissions
from domain.core.errors import Conflict, Invalid
from domain.core.limits import MAX_QTY
from domain.core.money import qty_str
from domain.core.numbers import PlainDecimal
from domain.org.people import Actor
from domain.production import scrap

PROCESS_TYPE = "inspection"
NCR_PREFIX = "NCR"
RETURNED, SCRAPPED = "returned", "scrapped"  # what became of rejected goods
ZERO = Decimal(0)

# Reason codes, as data: why goods were rejected at an inspection, or scrapped on the shop floor. Pages translate
# the labels; the code is what is stored.
REASONS: dict[str, str] = {
    "damaged": "Damaged",
    "dimensions": "Out of tolerance (dimensions)",
    "material": "Wrong or defective material",
    "finish": "Surface or finish defect",
    "function": "Fails a functional test",
    "wrong_item": "Wrong item or quantity delivered",
    "documents": "Certificate or documents missing",
    "other": "Other (see the note)",
}
SCRAP_REASONS = scrap.SCRAP_REASONS  # why units were scrapped on the shop floor (domain/production/scrap.py)


class InspectionIn(BaseModel):
    """An inspection's result as it is entered: accepted and rejected quantities, and why anything was rejected."""

    model_config = ConfigDict(extra="forbid")

    accepted_qty: PlainDecimal = Field(ge=0, le=MAX_QTY, decimal_places=4)
    rejected_qty: PlainDecimal = Field(default=ZERO, ge=0, le=MAX_QTY, decimal_places=4)
    reason: str = Field(default="", max_length=40)
    note: str = Field(default="", max_length=500)


class InspectionCommand(BaseModel):
    """The result sent to the lot's process (an Update), with who entered it."""

    actor: Actor
    result: InspectionIn


class LotRef(BaseModel):
    """An inspection lot as its process knows it."""

    number: str  # IL-00001
    sku: str
    qty: Decimal
    source: str  # purchase | production
    source_document: str  # PO-00003-R1
    order_number: str


class InspectionOutcome(BaseModel):
    """What recording an inspection did."""

    lot: str
    accepted_qty: Decimal
    rejected_qty: Decimal
    ncr: str | None = None
    returned_qty: Decimal = ZERO  # back to the supplier before the bill: the receipt reduced
    debited_qty: Decimal = ZERO  # back on a debit note against the bill
    debit_note: str | None = None
    invoices: list[str] = []  # process ids of the bills the debit note was set against (told afterwards)
    waiting: list[str] = []  # process ids of orders waiting for this item (told afterwards)


def reason_label(code: str, scrap: bool = False) -> str:
    return (SCRAP_REASONS if scrap else REASONS).get(code, code)


def check_may_inspect(roles: Collection[str]) -> None:
    permissions.check(roles, permissions.Action.QUALITY_INSPECT,
                      "you may not record inspections; a user with the inspection permission records them")


def check_result(lot: str, sku: str, lot_qty: Decimal, status: str, result: InspectionIn) -> None:
    """The lot is open (Conflict), accepted + rejected is the lot exactly (Invalid: more than received would put
    goods in stock that never arrived; less would leave some in quarantine with no decision), and a rejection says
    why with a known reason code (Invalid)."""
    if status != "open":
        raise Conflict(f"inspection lot {lot} is inspected already; its result cannot be recorded again")
    total = result.accepted_qty + result.rejected_qty
    if total > lot_qty:
        raise Invalid(f"{qty_str(result.accepted_qty)} accepted and {qty_str(result.rejected_qty)} rejected is "
                      f"{qty_str(total)} of {sku}, more than the {qty_str(lot_qty)} received in lot {lot}; "
                      "nothing was stored")
    if total < lot_qty:
        raise Invalid(f"{qty_str(result.accepted_qty)} accepted and {qty_str(result.rejected_qty)} rejected is "
                      f"{qty_str(total)} of {sku}, less than the {qty_str(lot_qty)} received in lot {lot}: every "
                      "unit is either accepted or rejected; nothing was stored")
    if result.rejected_qty > 0:
        if not result.reason:
            raise Invalid(f"say why {qty_str(result.rejected_qty)} of {sku} is rejected: choose a reason")
        if result.reason not in REASONS:
            raise Invalid(f"{result.reason[:40]!r} is not a rejection reason; choose one of "
                          f"{', '.join(REASONS)}")
        if result.reason == "other" and not result.note.strip():
            raise Invalid("a rejection for another reason needs a note saying what is wrong")
    elif result.reason and result.reason not in REASONS:
        raise Invalid(f"{result.reason[:40]!r} is not a rejection reason; choose one of {', '.join(REASONS)}")


def split_rejected(rejected: Decimal, received: Decimal, billed: Decimal) -> tuple[Decimal, Decimal]:
    """(returned before the bill, debited against the bill) of `rejected` goods of an order line that received
    `received` (the rejected among them) and was billed `billed`: what the bills have not covered goes back by
    reducing what was received (the bill then matches only the accepted); what they have covered, by a debit note."""
    after = received - rejected  # what the order keeps of the line
    debited = max(ZERO, min(rejected, billed - after))
    return rejected - debited, debited


def first_pass_yield(accepted: Decimal, inspected: Decimal) -> Decimal | None:
    """Accepted at the first inspection over inspected (or good over good + scrap), as a fraction; None when nothing
    was inspected."""
    if inspected <= 0:
        return None
    return (accepted / inspected).quantize(Decimal("0.0001"))
