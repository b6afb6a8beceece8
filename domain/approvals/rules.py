"""Approval policy as pure rules: tier selection by amount, chain resolution over the org chart,
segregation of duties (SoD) and escalation. No I/O: the workflow and the API both call these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from domain import permissions
from domain.core.errors import Conflict, DomainError, Forbidden, Invalid
from domain.core.money import MAX_VALUE
from domain.core.numbers import PlainDecimal, PlainInt
from domain.org.people import Actor, Person

DEFAULT_SLA_HOURS = 48


class TaskStatus(StrEnum):
    """An inbox task's status (its row's `status`, equal to the string stored there)."""

    OPEN = "open"
    COMPLETED = "completed"  # decided, or done (a follow-up, an alert)
    CANCELLED = "cancelled"  # its process no longer needs it
    ESCALATED = "escalated"


class StepSpec(BaseModel):
    """One step of a policy tier: the requester's manager, anyone holding a role, or a named user."""

    kind: Literal["manager", "role", "user"]
    value: str = ""
    sla_hours: PlainInt = Field(default=DEFAULT_SLA_HOURS, gt=0, le=24 * 365)

    def describe(self) -> str:
        return {"manager": "manager", "role": self.value, "user": self.value}[self.kind]


class PolicyTier(BaseModel):
    above: PlainDecimal = Field(ge=0, le=MAX_VALUE, decimal_places=2)
    steps: list[StepSpec] = Field(min_length=1, max_length=10)


class ChainStep(BaseModel):
    index: int
    label: str
    candidate_role: str | None = None
    candidate_user: str | None = None
    sla_hours: int = DEFAULT_SLA_HOURS
    # Who may fill this step (a snapshot taken when the chain was resolved, requester excluded):
    # lets the engine refuse any decision, hand-on or escalation that would leave a later step
    # with nobody left to fill it.
    eligible: list[str] = []
    # For a step named for one person: the roles that person approves with; a delegate must hold one.
    authority: list[str] = []
    name: str = ""  # the route step's name as a form type says it ("" for the built-in chains: `label`)
    mode: Literal["any", "all"] = "any"
    # A step of several approvers at once: one task per part, each part a step of one named user (candidate_user)
    # or one role (candidate_role), all opened together. "all" (会签) needs every part's approval, one rejection
    # ends it; "any" (或签) needs the first approval. Empty: the step is itself its one approver.
    parts: list[ChainStep] = []


def select_tier(tiers: Sequence[PolicyTier], amount: Decimal) -> PolicyTier:
    """The tier with the highest threshold strictly below `amount` (≤ 1,000 → first tier, …)."""
    if amount <= 0:
        raise Invalid("the amount to approve must be greater than zero")
    fitting = [t for t in tiers if amount > t.above]
    if not fitting:
        raise Invalid(f"no approval policy covers an amount of {amount}")
    return max(fitting, key=lambda t: t.above)


def approving_roles(person: Person | None) -> list[str]:
    return sorted(person.roles - permissions.NON_APPROVING_ROLES) if person else []


def staffable(later: Sequence[ChainStep], excluded: set[str]) -> bool:
    """Can every later step still get a different person, none of them in `excluded`?"""
    sets = [set(s.eligible) - excluded for s in later if s.eligible]
    return all(sets) and _assignable(sets)


def _check_later(who: str, later: Sequence[ChainStep], excluded: set[str]) -> None:
    if later and not staffable(later, excluded | {who}):
        raise Forbidden(f"{who} is needed for a later step of this chain; someone else must take this one")


def _eligible(step: ChainStep, people: Mapping[str, Person]) -> set[str]:
    if step.candidate_user:
        p = people.get(step.candidate_user)
        return {p.username} if p and p.active else set()
    return {p.username for p in people.values() if p.active and step.candidate_role in p.roles}


def _assignable(sets: list[set[str]]) -> bool:
    """Can every step get a different person? (bipartite matching; chains are short)."""
    match: dict[str, int] = {}

    def augment(i: int, seen: set[str]) -> bool:
        for person in sorted(sets[i]):
            if person in seen:
                continue
            seen.add(person)
            if person not in match or augment(match[person], seen):
                match[person] = i
                return True
        return False

    return all(augment(i, set()) for i in range(len(sets)))


def resolve_chain(tier: PolicyTier, requester: str, people: Mapping[str, Person]) -> list[ChainStep]:
    """Concrete steps for `requester`. A named approver who also holds the role of a later step is
    folded into that later step (the higher authority covers both), so one person never has to
    fill two steps. Raises Invalid when the chain cannot be staffed without the requester."""
    me = people.get(requester)
    if me is None:
        raise Invalid(f"unknown requester {requester!r}")
    raw: list[ChainStep] = []
    for spec in tier.steps:
        if spec.kind == "manager":
            if not me.manager:
                raise Invalid(f"{requester} has no manager, so the approval chain cannot start")
            raw.append(ChainStep(index=0, label="manager", candidate_user=me.manager, sla_hours=spec.sla_hours))
        elif spec.kind == "role":
            raw.append(ChainStep(index=0, label=spec.value, candidate_role=spec.value, sla_hours=spec.sla_hours))
        else:
            raw.append(ChainStep(index=0, label=spec.value, candidate_user=spec.value, sla_hours=spec.sla_hours))
    steps: list[ChainStep] = []
    for i, step in enumerate(raw):
        later_roles = {s.candidate_role for s in raw[i + 1:] if s.candidate_role}
        person = people.get(step.candidate_user) if step.candidate_user else None
        if person is not None and person.roles & later_roles:
            continue  # folded into the later step that this person fills anyway
        steps.append(step)
    steps = [s.model_copy(update={"index": i + 1}) for i, s in enumerate(steps)]
    sets = [_eligible(s, people) - {requester} for s in steps]
    for step, eligible in zip(steps, sets, strict=True):
        if not eligible:
            who = step.candidate_user or f"role {step.candidate_role}"
            raise Invalid(f"step {step.index} ({step.label}) has nobody to approve it but the requester ({who})")
    if not _assignable(sets):
        raise Invalid("the approval chain needs more distinct approvers than the organisation has")
    return [s.model_copy(update={"eligible": sorted(e),
                                 "authority": approving_roles(people.get(s.candidate_user)) if s.candidate_user else []})
            for s, e in zip(steps, sets, strict=True)]


def check_may_decide(step: ChainStep, actor: Actor, requester: str, prior_deciders: Iterable[str],
                     assignee: str | None, later: Sequence[ChainStep] = (), *, decision: Decision = "approve",
                     comment: str = "") -> None:
    """SoD and eligibility for deciding a task; raises Forbidden / Conflict with the reason, and Invalid for a
    rejection that does not say why."""
    prior = set(prior_deciders)
    if actor.username == requester:
        raise Forbidden("nobody approves their own request")
    if actor.username in prior:
        raise Forbidden(f"{actor.username} already decided an earlier step of this chain")
    if step.candidate_user and actor.username != step.candidate_user:
        raise Forbidden(f"this task is for {step.candidate_user}")
    if step.candidate_role and not step.candidate_user and step.candidate_role not in actor.roles:
        raise Forbidden(f"this task needs the role {step.candidate_role}")
    if assignee and assignee != actor.username:
        raise Conflict(f"this task is claimed by {assignee}")
    _check_later(actor.username, later, prior | {requester})
    if decision == "reject" and not comment.strip():
        raise Invalid("a rejection needs a comment saying why")


def may_decide(step: ChainStep, actor: Actor, requester: str, prior_deciders: Iterable[str],
               assignee: str | None, later: Sequence[ChainStep] = ()) -> bool:
    """check_may_decide as a yes or no (the comment aside): what a page asks before it offers Approve and Reject."""
    try:
        check_may_decide(step, actor, requester, prior_deciders, assignee, later)
    except DomainError:
        return False
    return True


def may_take(step: ChainStep, person: Person, requester: str, prior_deciders: Iterable[str],
             later: Sequence[ChainStep] = ()) -> bool:
    """check_may_take as a yes or no, for a person of the org chart (whom to hand a task to, or route it to)."""
    try:
        check_may_take(step, Actor(username=person.username, roles=sorted(person.roles)), requester, prior_deciders,
                       later)
    except (Forbidden, Conflict):
        return False
    return True


def check_may_take(step: ChainStep, target: Actor, requester: str, prior_deciders: Iterable[str],
                   later: Sequence[ChainStep] = ()) -> None:
    """May `target` be given this task (claim, reassign, delegate)? Same SoD as deciding; a step named
    for one person goes only to someone holding one of that person's approving roles."""
    prior = set(prior_deciders)
    if target.username == requester:
        raise Forbidden(f"{target.username} made this request and cannot approve it")
    if target.username in prior:
        raise Forbidden(f"{target.username} already decided an earlier step of this chain")
    if step.candidate_user:
        if target.username != step.candidate_user and not set(step.authority) & set(target.roles):
            needed = ", ".join(step.authority) or "the named approver's own authority"
            raise Forbidden(f"{target.username} cannot stand in for {step.candidate_user}: it needs {needed}")
    elif step.candidate_role and step.candidate_role not in target.roles:
        raise Forbidden(f"{target.username} does not hold the role {step.candidate_role}")
    _check_later(target.username, later, prior | {requester})


# --- Commands on an approval's open task (the Approval workflow's Updates) ----------------------------------

def check_task_open(task_id: str, open_task_id: str | None, step: ChainStep | None, *, withdrawn: bool,
                    withdrawal: Withdrawal | None, deciding: DecideCommand | None) -> ChainStep:
    """The step of task `task_id` while it takes commands (decide, claim, unclaim, reassign); a Conflict once the
    request was withdrawn (`withdrawn`: cancelled by its process; `withdrawal`: taken before the last decision),
    the approval moved on from it (`open_task_id` is the task open now, `step` its step), or a decision on it is
    being recorded (`deciding`)."""
    if withdrawn:
        raise Conflict("the request was withdrawn; this task is no longer open")
    if withdrawal is not None:
        raise Conflict(withdrawn_refusal(withdrawal))
    if step is None or task_id != open_task_id:
        raise Conflict("this task is already decided; the approval has moved on")
    if deciding is not None:
        verb = "approved" if deciding.decision == "approve" else "rejected"
        raise Conflict(f"this task is already {verb} by {deciding.actor.username}")
    return step


def check_may_claim(step: ChainStep, actor: Actor, requester: str, prior_deciders: Iterable[str],
                    assignee: str | None, later: Sequence[ChainStep] = ()) -> None:
    """May `actor` claim the open task of `step`? Whoever may take it (`check_may_take`), as it is: a step named
    for one person only by that person (others get it by a hand-on); not while someone else holds it."""
    check_may_take(step, actor, requester, prior_deciders, later)
    if step.candidate_user and step.candidate_user != actor.username:
        raise Forbidden(f"this task is for {step.candidate_user}")
    if assignee and assignee != actor.username:
        raise Conflict(f"this task is claimed by {assignee}")


def may_claim(step: ChainStep, actor: Actor, requester: str, prior_deciders: Iterable[str],
              assignee: str | None, later: Sequence[ChainStep] = ()) -> bool:
    """check_may_claim as a yes or no: what a page asks before it offers Claim."""
    try:
        check_may_claim(step, actor, requester, prior_deciders, assignee, later)
    except DomainError:
        return False
    return True


def check_may_unclaim(actor: Actor, assignee: str | None) -> None:
    """May `actor` release the task claimed by `assignee`? Its assignee, or whoever may release any task."""
    if assignee is None:
        raise Conflict("this task is not claimed")
    if assignee != actor.username and not permissions.may(actor.roles, permissions.Action.TASK_RELEASE_ANY):
        raise Forbidden(f"only {assignee} (or an admin) can release this task")


def may_unclaim(actor: Actor, assignee: str | None) -> bool:
    """check_may_unclaim as a yes or no: what a page asks before it offers Unclaim."""
    try:
        check_may_unclaim(actor, assignee)
    except DomainError:
        return False
    return True


def may_hand_on(step: ChainStep, actor: Actor, requester: str, assignee: str | None) -> bool:
    """May `actor` hand the open task of `step` on at all (to whom is check_may_take's)? Its holder (the assignee,
    else the person the step names), whoever may hand on any task, or, while nobody holds it, a holder of its role
    other than the requester. What a page asks before it offers Delegate."""
    me, holder = actor.username, assignee or step.candidate_user
    return (me == holder or permissions.may(actor.roles, permissions.Action.TASK_HAND_ON_ANY)
            or (holder is None and step.candidate_role in actor.roles and me != requester))


def check_may_reassign(step: ChainStep, actor: Actor, target: Actor | None, requester: str,
                       prior_deciders: Iterable[str], assignee: str | None, later: Sequence[ChainStep] = ()) -> None:
    """May `actor` hand the open task of `step` to `target` (reassign; delegate, for a step named for one person)?
    Its holder (the assignee, else the person the step names), whoever may hand on any task, or, while nobody
    holds it, a holder of its role other than the requester; and only to someone who may take it."""
    holder = assignee or step.candidate_user
    if target is None:
        raise Invalid("name the user to hand the task to")
    if not may_hand_on(step, actor, requester, assignee):
        raise Forbidden("only the task's holder, a holder of its role, or an admin can hand it on")
    if target.username == holder:
        raise Conflict(f"the task is already with {holder}")
    check_may_take(step, target, requester, prior_deciders, later)


def escalation_target(step: ChainStep, people: Mapping[str, Person], role_escalation: Mapping[str, str | None],
                      excluded: set[str], later: Sequence[ChainStep] = ()) -> ChainStep | None:
    """The next one up from `step`: a named user's manager, a role's escalation role. Skips people
    who may not take it (the requester, earlier deciders, anyone a later step cannot do without).
    None when there is no one higher."""

    def fits(p: Person) -> bool:
        return p.active and p.username not in excluded and staffable(later, excluded | {p.username})

    if step.candidate_user:
        seen: set[str] = set()
        current = people.get(step.candidate_user)
        while current and current.manager and current.manager not in seen:
            seen.add(current.manager)
            nxt = people.get(current.manager)
            if nxt and fits(nxt):
                return step.model_copy(update={"candidate_user": nxt.username, "candidate_role": None,
                                               "label": f"{step.label} → {nxt.username}",
                                               "eligible": [nxt.username], "authority": approving_roles(nxt)})
            current = nxt
        return None
    role = step.candidate_role
    seen_roles: set[str] = set()
    while role and role not in seen_roles:
        seen_roles.add(role)
        role = role_escalation.get(role)
        if role:
            takers = sorted(p.username for p in people.values() if role in p.roles and fits(p))
            if takers:
                return step.model_copy(update={"candidate_role": role, "candidate_user": None,
                                               "label": f"{step.label} → {role}", "eligible": takers})
    return None


# --- Out of office: a task named for someone away goes to their deputy ---------------------------

class Absence(BaseModel):
    """`username` is away from `starts_on` to `ends_on` (both inclusive); `deputy` stands in."""

    username: str
    deputy: str
    starts_on: date
    ends_on: date

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def away_on(username: str, day: date, absences: Iterable[Absence]) -> Absence | None:
    """The absence of `username` that covers `day`, if any (a user's absences never overlap)."""
    return next((a for a in absences if a.username == username and a.covers(day)), None)


def find_deputy(username: str, day: date, absences: Sequence[Absence], people: Mapping[str, Person],
                excluded: Iterable[str], fits: Callable[[Person], bool] = lambda _p: True,
                ) -> tuple[str, list[Absence]]:
    """Who takes a task named for `username` on `day`, and the absences followed to get there.

    The rule: someone away hands on to their deputy; a deputy who is away too hands on to theirs, and
    so on. The task goes to the first person on that chain who is at work, active, not `excluded` (the
    requester, earlier deciders) and `fits` (may take this very task). A deputy who is away is passed
    over (their own deputy is asked next); a deputy at work who is excluded or does not fit, an inactive
    or unknown deputy, or a loop back to someone already asked ends the chain. When the chain ends
    without a taker the task stays with `username` (returned with no absences): it is never left
    without an approver, and its holder can still delegate it by hand."""
    barred = set(excluded)
    followed: list[Absence] = []
    seen = {username}
    current = username
    while (absence := away_on(current, day, absences)) is not None:
        followed.append(absence)
        nxt = absence.deputy
        if nxt in seen:
            break  # a loop: everyone on it is away
        seen.add(nxt)
        person = people.get(nxt)
        if person is None or not person.active:
            break
        if away_on(nxt, day, absences) is not None:
            current = nxt  # away too: their own deputy is asked next
            continue
        if nxt not in barred and fits(person):
            return nxt, followed
        break  # at work, but may not take this task
    return username, []


class DeputyRoute(BaseModel):
    """A step re-addressed to a deputy, and the sentence for the task's trail."""

    step: ChainStep
    deputy: str
    reason: str


def route_to_deputy(step: ChainStep, day: date, absences: Sequence[Absence], people: Mapping[str, Person],
                    requester: str, prior_deciders: Iterable[str], later: Sequence[ChainStep] = ()) -> DeputyRoute | None:
    """For a step named for one person who is out of office on `day`: the same step for their deputy
    (see `find_deputy`), who must be allowed to take it exactly as a delegate would (`check_may_take`:
    one of the named approver's approving roles, segregation of duties, later steps still staffable).
    None when the step is not named for one person, that person is at work, or nobody fits.
    Role steps are never re-routed: anyone holding the role can take them anyway."""
    if not step.candidate_user:
        return None
    prior = list(prior_deciders)

    def fits(p: Person) -> bool:
        return may_take(step, p, requester, prior, later)

    deputy, followed = find_deputy(step.candidate_user, day, absences, people, [requester, *prior], fits)
    if not followed:
        return None
    first, *rest = followed
    away = ", ".join([f"{first.username} is out of office until {first.ends_on.isoformat()}",
                      *(f"{a.username} until {a.ends_on.isoformat()}" for a in rest)])
    reason = f"{away}: routed to deputy {deputy}"
    return DeputyRoute(step=step.model_copy(update={"candidate_user": deputy, "eligible": [deputy]}),
                       deputy=deputy, reason=reason)


# --- Messages between processes, the approval workflow and its activities -------------------------

Decision = Literal["approve", "reject"]


class ApprovalRequest(BaseModel):
    """What a business process asks of the approval engine."""

    process_id: str
    process_type: str
    business_key: str
    title: str
    amount: Decimal | None = None
    requester: str
    steps: list[ChainStep] = Field(min_length=1)
    priority: int = 50
    dedupe: bool = False  # 去重: one person met in two consecutive steps approves once
    generation: int = 0  # the workflow code generation that started its process (workflows.common.GENERATION)


class TaskSpec(BaseModel):
    task_id: str
    workflow_id: str
    process_id: str
    process_type: str
    kind: str = "approval"
    title: str
    business_key: str
    amount: Decimal | None = None
    requester: str = ""
    step: ChainStep | None = None
    candidate_role: str | None = None
    candidate_user: str | None = None
    priority: int = 50
    due_hours: int = DEFAULT_SLA_HOURS


class DecideCommand(BaseModel):
    task_id: str
    actor: Actor
    decision: Decision
    comment: str = Field(default="", max_length=2000)


class TaskCommand(BaseModel):
    """claim / unclaim / reassign: `target` is who gets the task (None to unclaim)."""

    task_id: str
    actor: Actor
    target: Actor | None = None
    delegate: bool = False


class DecisionRecord(BaseModel):
    step: int
    role: str
    decided_by: str
    decision: Decision
    comment: str = ""


class Withdrawal(BaseModel):
    """A process withdrawing the document its approval is for (the requester's cancel, a lost opportunity).
    The approval workflow decides it, so that it and the last decision are taken in one order: a withdrawal
    taken before the last decision ends the approval, one after it comes too late."""

    by: str  # who withdrew it: a username, or what did ("the opportunity")
    document: str  # "claim EC-00012"
    what: str = "cancel"  # the act, as the trail tells it
    reason: str = ""  # why, when it is not the requester's own cancel
    refused_when_late: bool = True  # after the last decision: refused (a claim) or goes on against the decided one
    at: datetime | None = None  # when the approval workflow took it


class ApprovalOutcome(BaseModel):
    approved: bool
    decisions: list[DecisionRecord] = []
    rejected_at_step: int | None = None
    decided_at: datetime | None = None  # when the last decision was taken
    withdrawn: Withdrawal | None = None  # set when a withdrawal ended the approval before its last decision


def _when(at: datetime | None) -> str:
    return f" at {at:%Y-%m-%d %H:%M:%S} UTC" if at is not None else ""


def _noun(document: str) -> str:
    """"claim EC-00012" -> "claim"; "sales order SO-00003" -> "sales order"."""
    return document.rsplit(" ", 1)[0] if " " in document else document


def withdrawn_refusal(w: Withdrawal) -> str:
    """The 409 for a decision (or a claim, a hand-on) that comes after the withdrawal was taken."""
    why = f" ({w.reason})" if w.reason else ""
    return f"{w.document} was withdrawn by {w.by}{_when(w.at)}{why}; nothing left to decide"


def withdrawn_note(w: Withdrawal) -> str:
    """What the trail says of the tasks a withdrawal closed."""
    why = f": {w.reason}" if w.reason else ""
    return f"withdrawn by {w.by}{why}"[:500]


def _last(outcome: ApprovalOutcome) -> tuple[str, str]:
    verb = "approved" if outcome.approved else "rejected"
    who = outcome.decisions[-1].decided_by if outcome.decisions else "its approvers"
    return verb, who


WITHDRAWABLE = ("submitted", "pending_approval")  # the states in which a document's requester may withdraw it


def check_may_withdraw(actor: Actor, requester: str, status: str, cancel_by: str | None, document: str) -> None:
    """May `actor` withdraw `document` ("claim EC-00012"), in `status`, a cancel by `cancel_by` already asked?
    Its requester (or whoever may cancel any document), while it awaits approval, once; the refusal says the
    document's real state."""
    if actor.username != requester and not permissions.may(actor.roles, permissions.Action.DOCUMENT_CANCEL_ANY):
        raise Forbidden(f"only {requester} (the requester) or an admin can cancel {document}")
    if cancel_by is not None:
        raise Conflict(f"a cancel of {document} was already requested by {cancel_by}; it is being decided")
    if status not in WITHDRAWABLE:
        raise Conflict(f"{document} is {status}; only a {_noun(document)} pending approval can be cancelled")


def may_withdraw(actor: Actor, requester: str, status: str) -> bool:
    """check_may_withdraw as a yes or no, for a document in `status` (a cancel already asked aside): what a page
    asks before it offers to cancel a claim or a requisition."""
    try:
        check_may_withdraw(actor, requester, status, None, "the document")
    except DomainError:
        return False
    return True


def late_withdrawal_refusal(w: Withdrawal, outcome: ApprovalOutcome) -> str:
    """The 409 for a withdrawal the approval took after its last decision."""
    verb, who = _last(outcome)
    article = "an" if verb[0] in "aeiou" else "a"
    return (f"{w.document} was {verb} by {who}{_when(outcome.decided_at)}; {article} {verb} {_noun(w.document)} "
            f"can no longer be cancelled")


def late_withdrawal_note(w: Withdrawal, outcome: ApprovalOutcome) -> str:
    """What the trail says of a withdrawal that came after the last decision."""
    verb, _ = _last(outcome)
    last = "the final approval" if outcome.approved else "the rejection"
    who = f"{w.by}'s {w.what}" + (f" ({w.reason})" if w.reason else "")
    if w.refused_when_late:
        return f"{who} came after {last} and was refused"[:500]
    return f"{who} came after {last}; it goes on against the {verb} {_noun(w.document)}"[:500]


class TaskChange(BaseModel):
    """A change the approval workflow made to one of its tasks, for the projection."""

    task_id: str
    event: str  # claimed | unclaimed | reassigned | delegated | reminded | escalated | decided | cancelled
    seq: int  # the workflow's counter: part of the idempotency key
    actor: str = "system"
    detail: str = ""
    assignee: str | None = None
    clear_assignee: bool = False
    candidate_user: str | None = None
    candidate_role: str | None = None
    due_hours: int | None = None
    status: TaskStatus | None = None
    decision: DecisionRecord | None = None
    # Whom the change tells (domain.notifications), e.g. those a "copied" change copies in; empty: the task's
    # holder, for the events that tell anyone (reminded, escalated, urged, delegated, reassigned).
    notify: list[str] = []


# --- OA: steps of several parts, send back, add approver, copy to, urge (issue 19) ----------------------------

URGE_EVERY_HOURS = 1  # 催办: at most once an hour per approval


def part_label(step: ChainStep, part: ChainStep) -> str:
    """A part task's label: "it (all of)", "legal (any of)"."""
    who = part.candidate_user or part.candidate_role or part.label
    return f"{who} ({'all of' if step.mode == 'all' else 'any of'})"[:120]


def step_verdict(mode: str, decisions: Sequence[Decision], parts: int) -> Decision | None:
    """What a step of `parts` parts comes to once these of its parts decided: any one rejection rejects it; "any"
    (或签) is approved by its first approval, "all" (会签) only once every part approved; None while it waits."""
    if "reject" in decisions:
        return "reject"
    approvals = sum(1 for d in decisions if d == "approve")
    if approvals and (mode == "any" or approvals >= parts):
        return "approve"
    return None


def deduped(step: ChainStep, previous: ChainStep | None, decisions: Sequence[DecisionRecord]) -> DecisionRecord | None:
    """去重: the approval of `step` taken at once because its one named approver approved the step just before it
    (a trail line saying so); None when the step needs its own decision."""
    if previous is None or not step.candidate_user or step.parts:
        return None
    if not any(d.step == previous.index and d.decided_by == step.candidate_user and d.decision == "approve"
               for d in decisions):
        return None
    return DecisionRecord(step=step.index, role=step.label, decided_by=step.candidate_user, decision="approve",
                          comment=f"approved once: {step.candidate_user} approved step {previous.index}")


class SendBackCommand(BaseModel):
    """退回: the current approver sends the request back to its requester for changes."""

    task_id: str
    actor: Actor
    comment: str = Field(default="", max_length=2000)


class ResubmitCommand(BaseModel):
    """The requester sends back a request that was sent back to them (as it is, or with changed values)."""

    actor: Actor
    comment: str = Field(default="", max_length=2000)


class AddApproverCommand(BaseModel):
    """加签: the current approver adds `target` before (they decide first, then the task comes back) or after
    themselves (a new one-person step right after this one)."""

    task_id: str
    actor: Actor
    target: Actor
    position: Literal["before", "after"] = "after"
    comment: str = Field(default="", max_length=2000)


class CopyToCommand(BaseModel):
    """抄送: the requester or the current approver names people who are told and may read the document."""

    actor: Actor
    usernames: list[str] = Field(min_length=1, max_length=20)
    task_id: str | None = None


class UrgeCommand(BaseModel):
    """催办: the requester reminds the current approver(s)."""

    actor: Actor
    comment: str = Field(default="", max_length=500)


class SentBack(BaseModel):
    """A request sent back to its requester: by whom, why, and the step the route restarts at."""

    by: str
    comment: str
    step: int
    at: datetime | None = None


def check_send_back_comment(comment: str) -> None:
    if not comment.strip():
        raise Invalid("a send back needs a comment saying what to change")


def check_may_resubmit(actor: Actor, requester: str, sent_back: SentBack | None, resubmitted: bool) -> None:
    if actor.username != requester:
        raise Forbidden(f"only {requester} (the requester) can resubmit this request")
    if sent_back is None:
        raise Conflict("this request was not sent back; there is nothing to resubmit")
    if resubmitted:
        raise Conflict("this request was already resubmitted")


def check_added_approver(target: Actor, actor: Actor, requester: str, prior_deciders: Iterable[str],
                         open_holders: Iterable[str] = ()) -> None:
    """May `target` be added (加签) by `actor`? Never the requester, anyone who already decided a step or a part of
    this approval, the actor themselves or someone holding another of its open tasks."""
    if target.username == requester:
        raise Forbidden(f"{target.username} made this request and cannot approve it")
    if target.username == actor.username:
        raise Conflict(f"{target.username} already holds this task")
    if target.username in set(prior_deciders):
        raise Forbidden(f"{target.username} already decided a step of this approval")
    if target.username in set(open_holders):
        raise Conflict(f"{target.username} already holds a task of this step")


def check_may_urge(actor: Actor, requester: str, waiting: bool, urged_at: datetime | None, now: datetime) -> None:
    """催办: the requester, while a task of the approval is open, at most once an hour (the 409 says when next)."""
    if actor.username != requester:
        raise Forbidden(f"only {requester} (the requester) can urge this approval")
    if not waiting:
        raise Conflict("no approval task is open to urge")
    if urged_at is not None:
        nxt = urged_at + timedelta(hours=URGE_EVERY_HOURS)
        if now < nxt:
            raise Conflict(f"urged already at {urged_at:%H:%M} UTC; the next urge is allowed from {nxt:%Y-%m-%d %H:%M} UTC")


def added_step(step: ChainStep, actor: str, target: Actor, position: str) -> ChainStep:
    """The one-person step that 加签 adds before or after `step` (same number: it is part of that step's turn)."""
    return ChainStep(index=step.index, label=f"{target.username} (added {position} {actor})"[:120],
                     candidate_user=target.username, sla_hours=step.sla_hours, eligible=[target.username],
                     authority=sorted(set(target.roles) - permissions.NON_APPROVING_ROLES))
