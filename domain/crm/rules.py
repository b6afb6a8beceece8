"""CRM rules: the lead as entered, an explainable lead score from rules kept as data, and the
opportunity pipeline (stages, their default probability, expected value, which moves are allowed).
Pure: the LeadToOrder workflow, its activities and the API all call these."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain import permissions
from domain.core.errors import Conflict, Forbidden, Invalid
from domain.core.money import MAX_AMOUNT, money
from domain.core.names import check_name
from domain.core.numbers import PLAIN, PlainDecimal, PlainInt
from domain.org.people import Actor
from domain.permissions import Action

# --- Leads --------------------------------------------------------------------------------------------


class LeadStatus(StrEnum):
    """A lead's status (its row's `status`, equal to the string stored there)."""

    NEW = "new"  # nobody owns it yet
    ASSIGNED = "assigned"
    QUALIFIED = "qualified"  # an opportunity carries on with it
    DISQUALIFIED = "disqualified"


OPEN_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.ASSIGNED)  # not decided yet

Source = Literal["referral", "website", "trade_show", "cold_call", "partner", "other"]
SOURCES: tuple[str, ...] = ("referral", "website", "trade_show", "cold_call", "partner", "other")

# Deliberately loose: one @, no spaces, a dot in the domain. Deliverability is the mail server's call.
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
PHONE_RE = r"^\+?[0-9(][0-9 ()./-]{4,38}[0-9]$"


class LeadIn(BaseModel):
    """A lead as a salesperson or the website enters it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    company: str = Field(min_length=1, max_length=200)
    contact: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=EMAIL_RE)
    phone: str | None = Field(default=None, max_length=40, pattern=PHONE_RE)
    source: Source
    estimated_value: PlainDecimal = Field(ge=0, le=MAX_AMOUNT, decimal_places=2)
    notes: str = Field(default="", max_length=2000)

    @field_validator("phone", mode="before")
    @classmethod
    def _blank_phone_is_none(cls, value: object) -> object:
        # An empty form field means "no phone", not a malformed one.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("company", "contact")
    @classmethod
    def _printable_name(cls, value: str) -> str:
        # No bidirectional controls or control characters: the company becomes a customer's name.
        try:
            check_name(value)
        except Invalid as e:
            raise ValueError(e.message) from None
        return value


# --- Lead scoring -------------------------------------------------------------------------------------

RuleKind = Literal["source", "value_at_least", "field_present", "is_customer", "engagement_at_least"]
MAX_SCORE = 100
_COUNT_RE = re.compile(r"^[0-9]{1,9}$")


class ScoringRule(BaseModel):
    """One line of the scoring table an admin edits. `param` depends on `kind`: a source name, an
    amount, a LeadIn field name, nothing (is_customer), or a count of engagement events."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    kind: RuleKind
    param: str = Field(default="", max_length=100)
    points: PlainInt = Field(ge=-100, le=100)
    reason: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _param_fits_kind(self) -> ScoringRule:
        p = self.param
        if self.kind == "source" and p not in SOURCES:
            raise ValueError(f"a source rule needs one of {', '.join(SOURCES)}, not {p!r}")
        if self.kind == "value_at_least":
            if not PLAIN.match(p):  # plain ASCII decimals only, as everywhere
                raise ValueError(f"a value rule needs an amount such as 5000 (plain digits), not {p!r}")
            try:
                amount = Decimal(p)
            except InvalidOperation:
                raise ValueError(f"a value rule needs an amount, not {p!r}") from None
            if not amount.is_finite() or not 0 < amount <= MAX_AMOUNT:
                raise ValueError(f"a value rule needs an amount above 0 and at most {MAX_AMOUNT}")
        if self.kind == "field_present" and p not in LeadIn.model_fields:
            raise ValueError(f"a field rule needs a lead field ({', '.join(LeadIn.model_fields)}), not {p!r}")
        if self.kind == "is_customer" and p:
            raise ValueError("an is_customer rule takes no parameter")
        if self.kind == "engagement_at_least" and (not _COUNT_RE.match(p) or int(p) < 1):
            raise ValueError(f"an engagement rule needs a whole number of events of at least 1, not {p!r}")
        return self


class ScoreReason(BaseModel):
    rule: str
    points: int
    reason: str


class LeadScore(BaseModel):
    """The score and why. `raw` is the plain sum of the reasons; `score` is it held to 0..100."""

    score: int = Field(ge=0, le=MAX_SCORE)
    raw: int
    reasons: list[ScoreReason] = []


def _rule(name: str, kind: RuleKind, param: str, points: int, reason: str) -> ScoringRule:
    return ScoringRule(name=name, kind=kind, param=param, points=points, reason=reason)


# What --demo loads. Value and engagement tiers add up (a 60,000 lead gets both value rules), so
# the table reads as "each step up is worth this much more".
DEFAULT_SCORING_RULES: tuple[ScoringRule, ...] = (
    _rule("referral", "source", "referral", 25, "Referred by someone who knows us"),
    _rule("partner", "source", "partner", 20, "Brought in by a partner"),
    _rule("trade_show", "source", "trade_show", 15, "Met us at a trade show"),
    _rule("website", "source", "website", 10, "Came to us through the website"),
    _rule("cold_call", "source", "cold_call", 5, "Reached by a cold call"),
    _rule("unknown_source", "source", "other", -5, "We do not know where this lead came from"),
    _rule("value_10k", "value_at_least", "10000", 10, "Estimated value of 10,000 or more"),
    _rule("value_50k", "value_at_least", "50000", 15, "Estimated value of 50,000 or more"),
    _rule("value_250k", "value_at_least", "250000", 10, "Estimated value of 250,000 or more"),
    _rule("has_phone", "field_present", "phone", 10, "A phone number to call"),
    _rule("has_notes", "field_present", "notes", 5, "Notes on what the customer needs"),
    _rule("existing_customer", "is_customer", "", 20, "The company is already a customer"),
    _rule("engaged", "engagement_at_least", "1", 5, "Has engaged with us at least once"),
    _rule("engaged_3", "engagement_at_least", "3", 10, "Has engaged with us 3 times or more"),
    _rule("engaged_10", "engagement_at_least", "10", 10, "Has engaged with us 10 times or more"),
)


def _fires(rule: ScoringRule, lead: LeadIn, is_customer: bool, engagement_events: int) -> bool:
    if rule.kind == "source":
        return lead.source == rule.param
    if rule.kind == "value_at_least":
        return lead.estimated_value >= Decimal(rule.param)
    if rule.kind == "field_present":
        value = getattr(lead, rule.param)
        return value is not None and value != ""
    if rule.kind == "is_customer":
        return is_customer
    return engagement_events >= int(rule.param)


def score_lead(lead: LeadIn, rules: Sequence[ScoringRule], *,
               is_customer: bool, engagement_events: int) -> LeadScore:
    """Apply every rule in order; each one that fires adds its points and its reason. The same lead,
    facts and rules always give the same score and the same reasons in the same order."""
    if engagement_events < 0:
        raise Invalid("the number of engagement events cannot be negative")
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise Invalid(f"each scoring rule needs its own name; repeated: {', '.join(duplicates)}")
    reasons = [ScoreReason(rule=r.name, points=r.points, reason=r.reason)
               for r in rules if _fires(r, lead, is_customer, engagement_events)]
    raw = sum(r.points for r in reasons)
    return LeadScore(score=max(0, min(MAX_SCORE, raw)), raw=raw, reasons=reasons)


# --- Opportunity pipeline -----------------------------------------------------------------------------

class OpportunityStage(StrEnum):
    """An opportunity's stage (its row's `stage`, equal to the string stored there), in pipeline order."""

    QUALIFICATION = "qualification"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"


Stage = OpportunityStage
STAGES: tuple[Stage, ...] = tuple(OpportunityStage)
OPEN_STAGES: tuple[Stage, ...] = (Stage.QUALIFICATION, Stage.PROPOSAL, Stage.NEGOTIATION)
CLOSED_STAGES: frozenset[str] = frozenset({Stage.WON, Stage.LOST})
DEFAULT_PROBABILITY: dict[Stage, int] = {
    Stage.QUALIFICATION: 10, Stage.PROPOSAL: 40, Stage.NEGOTIATION: 70, Stage.WON: 100, Stage.LOST: 0,
}


def expected_value(amount: Decimal, probability: int | Decimal) -> Decimal:
    """What the opportunity is worth weighted by its chance: amount × probability %, to the cent."""
    if amount < 0:
        raise Invalid("an opportunity's amount cannot be negative")
    if not 0 <= probability <= 100:
        raise Invalid(f"a probability is a percentage from 0 to 100, not {probability}")
    return money(Decimal(amount) * Decimal(probability) / 100)


def _known(stage: str) -> None:
    if stage not in STAGES:
        raise Invalid(f"unknown opportunity stage {stage!r}; the stages are {', '.join(STAGES)}")


def allowed_moves(current: str) -> tuple[Stage, ...]:
    """Where an opportunity may go from `current`: any later stage (won included), lost from any open
    stage, or back one stage to correct a premature move. Won and lost are final."""
    _known(current)
    if current in CLOSED_STAGES:
        return ()
    i = OPEN_STAGES.index(current)
    back: tuple[Stage, ...] = (OPEN_STAGES[i - 1],) if i > 0 else ()
    return back + OPEN_STAGES[i + 1:] + (Stage.WON, Stage.LOST)


def check_stage_move(current: str, new: str) -> None:
    """Raise Conflict, with the reason, unless an opportunity may move from `current` to `new`."""
    _known(current)
    _known(new)
    if current in CLOSED_STAGES:
        raise Conflict(f"the opportunity is {current}, and nothing moves it out of {current}")
    if new == current:
        raise Conflict(f"the opportunity is already in {current}")
    allowed = allowed_moves(current)
    if new not in allowed:
        raise Conflict(f"an opportunity in {current} may step back only one stage; "
                       f"from {current} it may go to {', '.join(allowed)}")


ActivityKind = Literal["call", "email", "meeting", "note"]


class LeadDraft(BaseModel):
    """What the lead's process receives: the lead as entered, numbered, and who entered it."""

    number: str
    created_by: str
    lead: LeadIn
    owner: str | None = None  # given by the creator; otherwise assigned round robin over role sales


class LeadRecorded(BaseModel):
    owner: str
    owner_manager: str | None = None


class QualifyCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: Actor
    decision: Literal["qualified", "disqualified"]
    customer_id: int | None = Field(default=None, gt=0, le=2**31 - 1)
    reason: str = Field(default="", max_length=500)


class ActivityCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: Actor
    kind: ActivityKind
    note: str = Field(default="", max_length=2000)


OpenStage = Literal["qualification", "proposal", "negotiation"]


class StageCommand(BaseModel):
    """Move an open opportunity to another open stage (won comes from an accepted quotation, lost from
    LoseCommand)."""

    model_config = ConfigDict(extra="forbid")

    actor: Actor
    stage: OpenStage


class LoseCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    actor: Actor
    reason: str = Field(max_length=500)


class OpportunityRef(BaseModel):
    """The opportunity a qualified lead opened: what its process carries on with."""

    number: str
    customer_id: int
    customer: str
    owner: str
    stage: str = "qualification"


FOLLOW_UP_DAYS = 3  # no activity for this long: the owner gets a reminder task
ESCALATE_DAYS = 14  # no activity for this long: the owner's manager gets a task


def may_work_lead(actor: Actor, owner: str | None, owner_manager: str | None) -> bool:
    """The lead's owner, their manager, and whoever may change any lead (admin) may work a lead."""
    return actor.username in (owner, owner_manager) or permissions.may(actor.roles, Action.LEAD_CHANGE_ANY)


def check_may_work_lead(actor: Actor, owner: str, owner_manager: str | None) -> None:
    """Only the lead's owner, their manager or an admin may change a lead."""
    if not may_work_lead(actor, owner, owner_manager):
        raise Forbidden(f"only {owner} (the lead's owner), their manager or an admin can change this lead")


# --- Commands on a lead's process (the LeadToOrder workflow's Updates) ---------------------------------------

@dataclass(frozen=True)
class LeadState:
    """A lead's process as a command on it is checked against: the lead, and once qualified its opportunity."""

    number: str
    status: str  # the process's stage: assigned, then the verdict or the opportunity's stage
    owner: str | None = None  # None while the lead is being recorded
    owner_manager: str | None = None
    verdict: str | None = None  # qualified | disqualified, once recorded
    settling: bool = False  # a verdict is being recorded
    opportunity: OpportunityRef | None = None  # once qualified
    lost: str | None = None  # why, once lost
    won: str | None = None  # the accepted quotation, once won
    busy: str | None = None  # what the opportunity is being ("moved", "closed") while a stage move or loss is recorded


def check_may_log_activity(actor: Actor, lead: LeadState) -> None:
    """May `actor` work the lead (log an activity; qualify it, see `check_may_qualify`)? Its owner, their manager or
    an admin, once it is recorded, until its verdict is, and not while a verdict is being recorded."""
    if lead.owner is None:
        raise Conflict(f"lead {lead.number} is still being recorded")
    check_may_work_lead(actor, lead.owner, lead.owner_manager)
    if lead.verdict is not None:
        raise Conflict(f"lead {lead.number} is already {lead.verdict}")
    if lead.settling:
        raise Conflict(f"lead {lead.number} is being decided right now")


def check_may_qualify(actor: Actor, decision: str, reason: str, lead: LeadState) -> None:
    """May `actor` record the verdict `decision` (qualified | disqualified, with its `reason`)? Who may work the
    open lead (`check_may_log_activity`); a disqualification says why."""
    check_may_log_activity(actor, lead)
    if decision == "disqualified" and not reason.strip():
        raise Invalid("say why the lead is disqualified")


def check_opportunity_open(actor: Actor, lead: LeadState) -> OpportunityRef:
    """The lead's opportunity, if `actor` may work it now: once the lead is qualified, by its owner, their manager
    or an admin, while it is open (neither lost nor won), and not while a stage move or its loss is recorded."""
    opp = lead.opportunity
    if opp is None or lead.owner is None:
        raise Conflict(f"lead {lead.number} is {lead.status}; only a qualified lead has an opportunity")
    check_may_work_lead(actor, lead.owner, lead.owner_manager)
    if lead.lost is not None or lead.won is not None or opp.stage in CLOSED_STAGES:
        raise Conflict(f"opportunity {opp.number} is {'lost' if lead.lost is not None else 'won'}")
    if lead.busy:
        raise Conflict(f"opportunity {opp.number} is being {lead.busy} right now; try again")
    return opp


def check_may_quote(actor: Actor, for_opportunity: str, accepted: str | None, lead: LeadState) -> None:
    """May `actor` start a quotation made `for_opportunity` on the lead's opportunity? Who may work it
    (`check_opportunity_open`), a quotation for this very opportunity, and none of its quotations `accepted` yet."""
    opp = check_opportunity_open(actor, lead)
    if for_opportunity != opp.number:
        raise Invalid(f"the quotation is for {for_opportunity}, not this process's {opp.number}")
    if accepted is not None:
        raise Conflict(f"opportunity {opp.number} is won")


def check_may_move_stage(actor: Actor, stage: str, lead: LeadState) -> None:
    """May `actor` move the lead's opportunity to `stage`? Who may work it, to a stage it may go to from its own."""
    check_stage_move(check_opportunity_open(actor, lead).stage, stage)


def check_may_lose(actor: Actor, reason: str, lead: LeadState) -> None:
    """May `actor` record the lead's opportunity as lost for `reason`? Who may work it, saying why."""
    check_opportunity_open(actor, lead)
    if not reason:
        raise Invalid("say why the opportunity was lost")
