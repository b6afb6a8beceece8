"""Form types as data (issue 19): what a form asks (its fields) and the route its requests take (its steps), as
pure rules. No I/O: the API checks a definition before it is stored, and a request's values and route before it
starts; the FormRequest workflow runs the route resolved here.

- `check_definition`: a form type is saved only when its route is sound (every `when` on a field of the form, of
  an operator that fits the field's type; every approver known; every step fillable by someone).
- `check_values`: a request's values against the form: normalized (Decimal, date, a list of attachment ids), or
  Invalid naming the field.
- `resolve_route`: the concrete approval chain (domain.approvals.rules.ChainStep) for one requester and one set of
  values: conditions applied, `manager` / `manager_of_manager` of the requester, roles and named users, and the
  steps of several approvers at once (`parts`, mode "any" 或签 / "all" 会签).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from domain.approvals.rules import DEFAULT_SLA_HOURS, ChainStep, _assignable, _eligible, approving_roles
from domain.core.errors import Invalid
from domain.core.money import MAX_AMOUNT, MAX_VALUE
from domain.core.numbers import PLAIN, PlainDecimal, PlainInt, plain_str, to_plain_decimal
from domain.org.people import Person

FieldType = Literal["text", "number", "money", "date", "choice", "user", "attachment"]
FIELD_TYPES: tuple[str, ...] = ("text", "number", "money", "date", "choice", "user", "attachment")
Op = Literal["<", "<=", ">", ">=", "==", "!="]
OPS: tuple[str, ...] = ("<", "<=", ">", ">=", "==", "!=")
ORDERED_TYPES = frozenset({"number", "money", "date"})  # every operator; the others only == and !=
MANAGER, MANAGER_OF_MANAGER = "manager", "manager_of_manager"

FIELD_NAME = r"^[a-z][a-z0-9_]{0,39}$"
FORM_KEY = r"^[a-z][a-z0-9_-]{1,39}$"
APPROVER = r"^(manager|manager_of_manager|role:[a-z][a-z0-9_]{1,39}|user:[a-z][a-z0-9_.\-]{1,59})$"
ATTACHMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TEXT = 2000
MAX_DATE_YEARS = 10  # a date further than this from today is a typo

Name = Annotated[str, Field(min_length=1, max_length=80)]
Approver = Annotated[str, Field(min_length=1, max_length=80, pattern=APPROVER)]
Choice = Annotated[str, Field(min_length=1, max_length=80)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldSpec(_Spec):
    """One field of a form. `min`/`max` bound a number or money field; `choices` are a choice field's options."""

    name: str = Field(min_length=1, max_length=40, pattern=FIELD_NAME)
    label: str = Field(default="", max_length=120)
    type: FieldType
    required: bool = False
    min: PlainDecimal | None = Field(default=None, ge=-MAX_VALUE, le=MAX_VALUE)
    max: PlainDecimal | None = Field(default=None, ge=-MAX_VALUE, le=MAX_VALUE)
    choices: list[Choice] = Field(default_factory=list, max_length=50)
    help: str = Field(default="", max_length=300)

    @property
    def title(self) -> str:
        return self.label or self.name


def _value_text(value: Any) -> Any:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return plain_str(to_plain_decimal(value))
    return value


class Condition(_Spec):
    """`field op value`, e.g. days > 3: a step with this condition applies only when it holds."""

    field: str = Field(min_length=1, max_length=40, pattern=FIELD_NAME)
    op: Op
    # Text, read as its field's type when compared (check_definition refuses what does not read): a JSON number is
    # taken as its plain decimal text, so 3 and "3" are one condition.
    value: Annotated[str, BeforeValidator(_value_text), Field(max_length=200)]

    def describe(self) -> str:
        return f"{self.field} {self.op} {self.value}"


class RouteStep(_Spec):
    """One step of the route: who approves (one approver, or a list of them at once), any one or all of them, when
    (a condition on a field), and in how many hours (else the form type's SLA)."""

    name: Name
    approver: Approver | Annotated[list[Approver], Field(min_length=1, max_length=10)]
    mode: Literal["any", "all"] = "any"
    when: Condition | None = None
    sla_hours: PlainInt | None = Field(default=None, gt=0, le=24 * 365)

    def approvers(self) -> list[str]:
        return [self.approver] if isinstance(self.approver, str) else list(self.approver)


class FormTypeIn(_Spec):
    """A form type as admin designs it (POST /api/form-types); stored as one version's definition."""

    key: str = Field(min_length=2, max_length=40, pattern=FORM_KEY)
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    fields: list[FieldSpec] = Field(min_length=1, max_length=50)
    route: list[RouteStep] = Field(min_length=1, max_length=20)
    sla_hours: PlainInt = Field(default=DEFAULT_SLA_HOURS, gt=0, le=24 * 365)
    dedupe: bool = False  # 去重: one person met in two consecutive steps approves once

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


# --- the definition -----------------------------------------------------------------------------------------

def _condition_value(spec: FieldSpec, text: str) -> Decimal | date | str:
    """A condition's value read as its field's type (Invalid when it cannot be)."""
    if spec.type in ("number", "money"):
        if not PLAIN.match(text.strip()):
            raise Invalid(f"the condition on {spec.name!r} compares with {text!r}, which is not a number")
        return Decimal(text.strip())
    if spec.type == "date":
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise Invalid(f"the condition on {spec.name!r} compares with {text!r}, which is not a date "
                          f"(YYYY-MM-DD)") from None
    if spec.type == "choice" and text not in spec.choices:
        raise Invalid(f"the condition on {spec.name!r} compares with {text!r}, which is not one of its choices")
    return text


def _role_holders(role: str, people: Mapping[str, Person]) -> list[str]:
    return sorted(p.username for p in people.values() if p.active and role in p.roles)


def check_definition(defn: FormTypeIn, roles: Collection[str], users: Collection[str],
                     people: Mapping[str, Person] | None = None) -> None:
    """Is this form type sound? Raises Invalid naming the first problem: two fields of one name, a choice field
    without choices (or choices on another type), min and max where they do not apply or min above max, a `when`
    on a field the form lacks or with an operator or value that does not fit the field, an unknown role or user, a
    role nobody active holds (when `people` is given), two steps of one name or one approver twice in a step.
    `manager` and `manager_of_manager` depend on the requester: resolve_route checks them per request."""
    seen: set[str] = set()
    for f in defn.fields:
        if f.name in seen:
            raise Invalid(f"two fields are named {f.name!r}")
        seen.add(f.name)
        if f.type == "choice":
            if not f.choices:
                raise Invalid(f"the choice field {f.name!r} needs at least one choice")
            if len(set(f.choices)) != len(f.choices):
                raise Invalid(f"the choice field {f.name!r} lists a choice twice")
        elif f.choices:
            raise Invalid(f"the field {f.name!r} is a {f.type} field; only a choice field has choices")
        if (f.min is not None or f.max is not None) and f.type not in ("number", "money"):
            raise Invalid(f"the field {f.name!r} is a {f.type} field; min and max apply to number and money fields")
        if f.min is not None and f.max is not None and f.min > f.max:
            raise Invalid(f"the field {f.name!r} has min {f.min} above its max {f.max}")
    known_roles, known_users = set(roles), set(users)
    names: set[str] = set()
    for step in defn.route:
        if step.name in names:
            raise Invalid(f"two steps are named {step.name!r}")
        names.add(step.name)
        if step.when is not None:
            spec = defn.field(step.when.field)
            if spec is None:
                raise Invalid(f"step {step.name!r} has a condition on {step.when.field!r}, which is not a field "
                              f"of this form")
            if spec.type == "attachment":
                raise Invalid(f"step {step.name!r} has a condition on the attachment field {spec.name!r}; "
                              f"conditions compare text, numbers, money, dates, choices or users")
            if step.when.op not in ("==", "!=") and spec.type not in ORDERED_TYPES:
                raise Invalid(f"step {step.name!r} compares the {spec.type} field {spec.name!r} with "
                              f"{step.when.op!r}; a {spec.type} field takes only == or !=")
            _condition_value(spec, step.when.value)
        approvers = step.approvers()
        if len(set(approvers)) != len(approvers):
            raise Invalid(f"step {step.name!r} names one approver twice")
        for who in approvers:
            kind, _, value = who.partition(":")
            if kind == "role":
                if value not in known_roles:
                    raise Invalid(f"step {step.name!r} names the role {value!r}, which does not exist")
                if people is not None and not _role_holders(value, people):
                    raise Invalid(f"step {step.name!r} names the role {value!r}, which nobody active holds, so "
                                  f"nobody could ever approve it")
            elif kind == "user":
                if value not in known_users:
                    raise Invalid(f"step {step.name!r} names the user {value!r}, who does not exist")
                person = people.get(value) if people is not None else None
                if people is not None and (person is None or not person.active):
                    raise Invalid(f"step {step.name!r} names the user {value!r}, who is not active")


# --- a request's values -------------------------------------------------------------------------------------

def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value)


def _decimal(spec: FieldSpec, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise Invalid(f"{spec.name!r} must be a number")
    if isinstance(value, str):
        if not PLAIN.match(value.strip()):
            raise Invalid(f"{spec.name!r} must be a plain decimal number such as 1250.00, not {value[:40]!r}")
        number = Decimal(value.strip())
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        number = Decimal(value)
    if not number.is_finite() or abs(number) > MAX_VALUE:
        raise Invalid(f"{spec.name!r} is out of range")
    if spec.type == "money":
        if abs(number) > MAX_AMOUNT:
            raise Invalid(f"{spec.name!r} is more than {MAX_AMOUNT}")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise Invalid(f"{spec.name!r} is money: at most 2 decimal places")
    if spec.min is not None and number < spec.min:
        raise Invalid(f"{spec.name!r} must be at least {spec.min}, not {number}")
    if spec.max is not None and number > spec.max:
        raise Invalid(f"{spec.name!r} must be at most {spec.max}, not {number}")
    return number


def _date(spec: FieldSpec, value: Any, today: date) -> date:
    if isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(f"{spec.name!r} must be a date (YYYY-MM-DD), not {value[:40]!r}") from None
    else:
        raise Invalid(f"{spec.name!r} must be a date (YYYY-MM-DD)")
    if abs((day - today).days) > 366 * MAX_DATE_YEARS:
        raise Invalid(f"{spec.name!r} is more than {MAX_DATE_YEARS} years away: {day.isoformat()}")
    return day


def _attachments(spec: FieldSpec, value: Any) -> list[str]:
    ids = [value] if isinstance(value, str) else value
    if not isinstance(ids, list) or not all(isinstance(i, str) and ATTACHMENT_ID.match(i) for i in ids):
        raise Invalid(f"{spec.name!r} must name uploaded attachments by their ids")
    if len(ids) > 20:
        raise Invalid(f"{spec.name!r} takes at most 20 attachments")
    return list(dict.fromkeys(ids))


def _value(spec: FieldSpec, value: Any, today: date, users: Collection[str] | None) -> Any:
    if spec.type in ("number", "money"):
        return _decimal(spec, value)
    if spec.type == "date":
        return _date(spec, value, today)
    if spec.type == "attachment":
        return _attachments(spec, value)
    if not isinstance(value, str):
        raise Invalid(f"{spec.name!r} must be text")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise Invalid(f"{spec.name!r} is longer than {MAX_TEXT} characters")
    if spec.type == "choice" and text not in spec.choices:
        raise Invalid(f"{spec.name!r} must be one of {', '.join(spec.choices)}, not {text[:40]!r}")
    if spec.type == "user" and users is not None and text not in users:
        raise Invalid(f"{spec.name!r} names {text[:60]!r}, who is not a user")
    return text


# Two date fields of these names make a range: the second may not come before the first.
RANGE_ENDS = (("from", "to"), ("start", "end"))


def date_ranges(defn: FormTypeIn) -> list[tuple[str, str]]:
    """The (first, last) date field pairs of a form: from/to, start/end, x_from/x_to, x_start/x_end."""
    dates = {f.name for f in defn.fields if f.type == "date"}
    out = []
    for name in sorted(dates):
        for first, last in RANGE_ENDS:
            if name == first or name.endswith("_" + first):
                other = name[: len(name) - len(first)] + last
                if other in dates:
                    out.append((name, other))
    return out


def check_values(defn: FormTypeIn, values: Mapping[str, Any], *, today: date,
                 users: Collection[str] | None = None) -> dict[str, Any]:
    """A request's values, checked against the form and normalized (number and money: Decimal; date: date;
    attachment: a list of attachment ids; text, choice, user: stripped text; an empty optional field: left out).
    Invalid naming the field: an unknown field, a required one missing, a wrong type, out of min/max, an unknown
    choice or user (when `users` is given), a date range backwards (`to` before `from`)."""
    if not isinstance(values, Mapping):
        raise Invalid("the values must be an object of field names and values")
    known = {f.name for f in defn.fields}
    unknown = sorted(str(k) for k in values if k not in known)
    if unknown:
        raise Invalid(f"the form {defn.key!r} has no field {unknown[0][:40]!r}")
    out: dict[str, Any] = {}
    for spec in defn.fields:
        raw = values.get(spec.name)
        if _empty(raw):
            if spec.required:
                raise Invalid(f"{spec.name!r} ({spec.title}) is required")
            continue
        out[spec.name] = _value(spec, raw, today, users)
    for first, last in date_ranges(defn):
        if first in out and last in out and out[last] < out[first]:
            raise Invalid(f"{last!r} ({out[last].isoformat()}) is before {first!r} ({out[first].isoformat()})")
    return out


def plain_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Normalized values as JSON (Decimal as a plain decimal string, date as YYYY-MM-DD)."""
    def plain(v: Any) -> Any:
        if isinstance(v, Decimal):
            return format(v, "f")
        if isinstance(v, date):
            return v.isoformat()
        return v
    return {k: plain(v) for k, v in values.items()}


# --- the route for one request ------------------------------------------------------------------------------

def holds(condition: Condition, defn: FormTypeIn, values: Mapping[str, Any]) -> bool:
    """Does `condition` hold for these values? A field left empty satisfies only `!=`."""
    spec = defn.field(condition.field)
    if spec is None:
        raise Invalid(f"the condition names {condition.field!r}, which is not a field of this form")
    raw = values.get(condition.field)
    if _empty(raw):
        return condition.op == "!="
    target = _condition_value(spec, condition.value)
    value: Any
    if spec.type in ("number", "money"):
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw))
    elif spec.type == "date":
        value = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    else:
        value = str(raw)
    op = condition.op
    if op == "==":
        return bool(value == target)
    if op == "!=":
        return bool(value != target)
    if op == "<":
        return bool(value < target)
    if op == "<=":
        return bool(value <= target)
    if op == ">":
        return bool(value > target)
    return bool(value >= target)


def _manager(username: str, people: Mapping[str, Person]) -> str | None:
    person = people.get(username)
    return person.manager if person else None


def _part(who: str, requester: str, people: Mapping[str, Person], step: RouteStep) -> ChainStep:
    """One approver of a step as a chain step of its own (a named user or a role)."""
    kind, _, value = who.partition(":")
    if kind in (MANAGER, MANAGER_OF_MANAGER):
        manager = _manager(requester, people)
        if not manager:
            raise Invalid(f"{requester} has no manager, so step {step.name!r} cannot be staffed")
        if kind == MANAGER_OF_MANAGER:
            manager = _manager(manager, people)
            if not manager:
                raise Invalid(f"{requester}'s manager has no manager, so step {step.name!r} cannot be staffed")
        return ChainStep(index=0, label=kind, candidate_user=manager)
    if kind == "role":
        return ChainStep(index=0, label=value, candidate_role=value)
    return ChainStep(index=0, label=value, candidate_user=value)


def _staffed(part: ChainStep, requester: str, people: Mapping[str, Person]) -> ChainStep:
    eligible = _eligible(part, people) - {requester}
    authority = approving_roles(people.get(part.candidate_user)) if part.candidate_user else []
    return part.model_copy(update={"eligible": sorted(eligible), "authority": authority})


def _nobody(step: RouteStep, part: ChainStep) -> Invalid:
    who = part.candidate_user or f"role {part.candidate_role}"
    return Invalid(f"step {step.name!r} has nobody to approve it but the requester ({who})")


def _resolve_step(step: RouteStep, requester: str, people: Mapping[str, Person], sla: int) -> ChainStep:
    approvers = step.approvers()
    common = {"name": step.name, "mode": step.mode, "sla_hours": sla}
    if len(approvers) == 1:
        one = _staffed(_part(approvers[0], requester, people, step), requester, people)
        if step.mode == "all" and one.candidate_role:
            # every active holder of the role, each a part (the requester left out)
            parts = [ChainStep(index=0, label=u, candidate_user=u, name=step.name, sla_hours=sla)
                     for u in one.eligible]
            if not parts:
                raise _nobody(step, one)
            parts = [_staffed(p, requester, people) for p in parts]
            return ChainStep(index=0, label=step.name, candidate_role=one.candidate_role, eligible=one.eligible,
                             parts=parts, **common)
        if not one.eligible:
            raise _nobody(step, one)
        return one.model_copy(update={"label": step.name, **common})
    parts = [_staffed(_part(who, requester, people, step), requester, people).model_copy(
        update={"name": step.name, "sla_hours": sla}) for who in approvers]
    if step.mode == "all":
        for p in parts:
            if not p.eligible:
                raise _nobody(step, p)
    else:
        parts = [p for p in parts if p.eligible]
        if not parts:
            raise Invalid(f"step {step.name!r} has nobody to approve it but the requester")
    eligible = sorted({u for p in parts for u in p.eligible})
    return ChainStep(index=0, label=step.name, eligible=eligible, parts=parts, **common)


def _above_the_top(step: RouteStep, requester: str, people: Mapping[str, Person]) -> bool:
    """A step of the manager's manager alone, for a requester whose manager has none (bob, frank, grace under
    heidi): there is no one above, so the step is left out (as 钉钉 skips a level the org chart lacks) and the
    manager's own step is the top of the route. A requester with no manager at all is still refused."""
    manager = _manager(requester, people)
    return step.approvers() == [MANAGER_OF_MANAGER] and bool(manager) and not _manager(manager or "", people)


def _slots(step: ChainStep) -> list[set[str]]:
    """The deciders a step needs, each from its set: one per part of an all-of step, else one."""
    if step.parts and step.mode == "all":
        return [set(p.eligible) for p in step.parts]
    return [set(step.eligible)]


def resolve_route(defn: FormTypeIn, values: Mapping[str, Any], requester: str,
                  people: Mapping[str, Person]) -> list[ChainStep]:
    """The approval chain of one request: the steps whose `when` holds (the others left out), numbered from 1,
    each with who may fill it (the requester never). A step of one approver is a plain ChainStep (a named user or
    a role; `mode: "all"` on a role: one part per active holder); a step of several approvers has one part per
    entry. A step named for one person who holds the role of a later single-role step is folded into it (as
    resolve_chain does). Unless the form type dedupes, nobody may be needed for two steps or two parts: Invalid
    when the chain cannot be staffed for this requester (no manager, nobody but the requester, too few people)."""
    if requester not in people:
        raise Invalid(f"unknown requester {requester!r}")
    raw = [_resolve_step(step, requester, people, step.sla_hours or defn.sla_hours)
           for step in defn.route if (step.when is None or holds(step.when, defn, values))
           and not _above_the_top(step, requester, people)]
    steps: list[ChainStep] = []
    for i, step in enumerate(raw):
        later_roles = {s.candidate_role for s in raw[i + 1:] if s.candidate_role and not s.parts}
        person = people.get(step.candidate_user) if step.candidate_user and not step.parts else None
        if person is not None and person.roles & later_roles and not defn.dedupe:
            continue  # folded into the later step that this person fills anyway
        steps.append(step)
    if not steps:
        raise Invalid("no step of the route applies to this request, so nobody would approve it")
    steps = [s.model_copy(update={"index": i + 1, "parts": [p.model_copy(update={"index": i + 1}) for p in s.parts]})
             for i, s in enumerate(steps)]
    if not defn.dedupe and not _assignable([slot for s in steps for slot in _slots(s)]):
        raise Invalid("the route needs more distinct approvers than the organisation has for this request")
    return steps


# --- leave -------------------------------------------------------------------------------------------------

def days_text(days: Decimal) -> str:
    """Days as a person writes them: 10, 4.5 (never 10.0000)."""
    text = format(days, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_leave_balance(balance_days: Decimal, days: Decimal) -> None:
    """Leave of `days` against what is left of the year's balance: Invalid when it is more."""
    if days > balance_days:
        raise Invalid(f"{days_text(days)} days of leave is more than the {days_text(balance_days)} days left this "
                      f"year")


def check_leave_days(days: Decimal, first: date, last: date) -> None:
    """A leave request's days against its range: more than zero, at most the calendar days from `first` to
    `last` (both inclusive), in half days."""
    if days <= 0:
        raise Invalid("the days of leave must be more than zero")
    if (days * 2) != (days * 2).to_integral_value():
        raise Invalid("the days of leave are counted in half days (0.5, 1, 1.5, ...)")
    span = (last - first).days + 1
    if span < 1:
        raise Invalid(f"'to' ({last.isoformat()}) is before 'from' ({first.isoformat()})")
    if days > span:
        raise Invalid(f"{days_text(days)} days of leave do not fit in {first.isoformat()} to {last.isoformat()} "
                      f"({span} calendar days)")

