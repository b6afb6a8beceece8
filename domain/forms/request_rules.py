"""Form requests: what the FormRequest process is given, its statuses, and the rules of its effects. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from domain.approvals.rules import ChainStep
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.org.people import Actor

LEAVE, BUSINESS_TRIP = "leave", "business_trip"  # the form keys whose approval does something beyond the decision


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"  # its process's, before the request is recorded
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SENT_BACK = "sent_back"


class RequestDraft(BaseModel):
    """What the FormRequest process is started with: the form type version as it was when the request was filed
    (a snapshot: a later version changes nothing for it), the checked values (as JSON) and the resolved route."""

    number: str
    form_key: str
    version: int
    form_name: str
    definition: dict[str, Any]  # the version's definition, as stored
    requester: str
    title: str
    values: dict[str, Any]
    steps: list[ChainStep]
    dedupe: bool = False


class Effect(BaseModel):
    """What an approved request does, read from its form and values: nothing, leave taken, or a cash advance."""

    kind: str = ""  # "" | "leave" | "advance"
    days: Decimal = Decimal(0)
    starts_on: date | None = None
    ends_on: date | None = None
    deputy: str = ""
    amount: Decimal = Decimal(0)


def as_json(values: dict[str, Any]) -> dict[str, Any]:
    """Checked values as JSON: decimals and dates as their text, the rest as they are."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, Decimal):
            out[k] = format(v, "f")
        elif isinstance(v, date):
            out[k] = v.isoformat()
        elif isinstance(v, (list, tuple)):
            out[k] = [str(x) for x in v]
        else:
            out[k] = v
    return out


def _decimal(values: dict[str, Any], name: str) -> Decimal:
    raw = values.get(name)
    if raw is None or raw == "":
        return Decimal(0)
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        raise Invalid(f"{name} is not a number") from None


def _date(values: dict[str, Any], name: str) -> date | None:
    raw = values.get(name)
    if not raw:
        return None
    return raw if isinstance(raw, date) else date.fromisoformat(str(raw))


# The fields an approval's effect reads, and the types it reads them as: a new version of these forms must keep them
# so (a leave whose `days` became text, or whose `from` became free text, broke the balance check with a 500 and
# left an approved leave's effect failing without end).
EFFECT_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    LEAVE: {"days": ("number",), "from": ("date",), "to": ("date",), "deputy": ("user",)},
    BUSINESS_TRIP: {"advance": ("money", "number")},
}


def check_effect_fields(form_key: str, fields: dict[str, str]) -> None:
    """`fields` (name: type) of a version of `form_key`: Invalid when one its approval's effect reads is missing
    (where required) or of another type."""
    for name, types in EFFECT_FIELDS.get(form_key, {}).items():
        kind = fields.get(name)
        if kind is None and form_key == LEAVE and name != "deputy":  # no deputy: the manager stands in
            raise Invalid(f"the form {form_key!r} needs its field {name!r} ({' or '.join(types)}): its approval "
                          "takes the leave with it")
        if kind is not None and kind not in types:
            raise Invalid(f"the field {name!r} of the form {form_key!r} must be of type {' or '.join(types)}, "
                          f"not {kind}: its approval reads it so")


def effect_of(form_key: str, values: dict[str, Any]) -> Effect:
    """Leave takes `days` off the balance and marks the requester out of office from `from` to `to` with `deputy`
    standing in; a business trip with an `advance` above zero pays it out; any other form does nothing more."""
    if form_key == LEAVE:
        return Effect(kind="leave", days=_decimal(values, "days"), starts_on=_date(values, "from"),
                      ends_on=_date(values, "to"), deputy=str(values.get("deputy") or ""))
    if form_key == BUSINESS_TRIP and _decimal(values, "advance") > 0:
        return Effect(kind="advance", amount=_decimal(values, "advance"))
    return Effect()


MONEY_FIELDS = ("amount", "advance")  # shown as money in a title even when the form's type of it is not known
TITLE_FIELDS = ("days", *MONEY_FIELDS, "destination", "type")


def title_of(form_name: str, number: str, requester: str, values: dict[str, Any],
             types: Mapping[str, str] | None = None) -> str:
    """"Leave FR-00003 by erin: 5 days" — the form's name, the number, who, and a few of its values: days as days,
    money (a field of type money, or amount/advance) as 6,000.00 (with the request's currency if it has one)."""
    # A text value may be 2,000 characters over several lines: the title is one line of at most 300 (the tasks' and
    # processes' title columns; a mail's subject), each value shown cut at 60.
    types = types or {}
    shown = [_short(" ".join(_shown(k, v, types.get(k, ""), values).split())) for k, v in values.items()
             if k in TITLE_FIELDS and v]
    title = f"{form_name} {number} by {requester}" + (f": {', '.join(shown[:3])}" if shown else "")
    return " ".join(title.split())[:300]


def _shown(name: str, value: Any, kind: str, values: dict[str, Any]) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    if name == "days" and kind in ("", "number"):
        n = number.normalize() if number == number.to_integral_value() else number
        return f"{n:f} {'day' if number == 1 else 'days'}"
    if kind == "money" or (name in MONEY_FIELDS and kind in ("", "number")):
        currency = values.get("currency")
        return f"{number:,.2f}" + (f" {currency}" if isinstance(currency, str) and currency.isalpha() else "")
    return str(value)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def check_may_resubmit(actor: Actor, requester: str, status: str, number: str) -> None:
    """Only the requester resubmits, and only a request still on its way (sent back to them)."""
    if actor.username != requester:
        raise Forbidden(f"only {requester}, who filed request {number}, can resubmit it")
    if status not in (RequestStatus.PENDING_APPROVAL, RequestStatus.SENT_BACK):
        raise Conflict(f"request {number} is {status}; only a request sent back for changes can be resubmitted")


def amount_of(values: dict[str, Any]) -> Decimal | None:
    """The amount a request is searched by: its `amount` or `advance` value, where it has one."""
    for name in ("amount", "advance"):
        if values.get(name) not in (None, ""):
            return _decimal(values, name)
    return None
