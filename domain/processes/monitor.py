"""The business map of a process: the steps its type goes through, as pure data, and where one process
stands on them. Knows nothing of SQL, HTTP or Temporal: it is given the steps the process recorded.

A type's map is its usual path. `APPROVAL` stands for the approval steps the process recorded
("approval: manager", "approval: finance", …), drawn in its place in the order they happened. A recorded
step the map does not know (an ending such as "rejected", "late", a step added later) is still drawn,
right after the step recorded before it. A step of the map the process went past without recording it
was skipped (a claim with no approval, an order that was not short); the ones it has not reached are
to do, or not reached when the process is over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from domain.processes.rules import ProcessStatus, StepStatus

APPROVAL = "approval"

PROCESS_MAPS: dict[str, tuple[str, ...]] = {
    "expense_claim": ("submitted", APPROVAL, "awaiting payment", "paid"),
    "purchase": ("submitted", APPROVAL, "awaiting goods", "received"),
    "approval": ("requested", APPROVAL, "decided"),
    "lead_to_order": ("submitted", "assigned", "qualification", "proposal", "negotiation", "won"),
    "quotation": ("submitted", APPROVAL, "sent", "accepted"),
    "sales_order": ("submitted", "credit check", APPROVAL, "kitting", "MRP", "waiting for supply",
                    "ready to deliver", "completed"),
    "production_order": ("waiting for material", APPROVAL, "in production", "completed"),
    "mrp_release": ("creating", "created"),  # a stored run's planned orders made into orders ("7 of 12 created")
    "payment": ("allocated",),
    "supplier_invoice": ("submitted", APPROVAL, "awaiting payment", "paid"),
    "period_close": ("checks", APPROVAL, "closed"),
    # A reminder and dunning levels are steps only when raised; the map shows the two ends of collection.
    "customer_invoice": ("collecting", "paid"),
    "sales_return": ("returned",),
    "purchase_return": ("recorded",),
    "change": ("proposed", APPROVAL, "applied"),  # a change of policies, permissions or a credit limit
    "form_request": ("submitted", APPROVAL, "approved"),  # its own route's steps, where given (`plan`)
}

# Steps that end a process without its usual outcome, or say it is stuck: drawn as failed.
BAD_ENDINGS = frozenset({"rejected", "cancelled", "withdrawn", "lost", "disqualified", "expired", "failed",
                         "planning failed", "late", "overdue", "checks_failed"})

State = Literal["done", "current", "todo", "failed", "skipped", "not reached"]


@dataclass(frozen=True)
class RecordedStep:
    """A step as the process recorded it (ProcessStep): in the order recorded."""

    name: str
    status: str = StepStatus.ACTIVE  # a StepStatus
    detail: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class MapStep:
    name: str
    state: State
    current: bool = False  # where the running process stands now
    planned: bool = True  # on the type's map (False: recorded, but the map does not know it)
    detail: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None


def is_approval(name: str) -> bool:
    return name == APPROVAL or name.startswith(APPROVAL + ":")


def business_map(type_: str, recorded: list[RecordedStep], stage: str, status: str,
                 plan: tuple[str, ...] | None = None) -> list[MapStep]:
    """The map of a process of `type_` that recorded `recorded`, stands at `stage` and is `status`
    (running | completed | cancelled | failed). `plan`, where given, is this one process's map instead of its
    type's (a form request's: its route's steps, "approval: <label>" each)."""
    running = status == ProcessStatus.RUNNING
    by_name = {r.name: (i, r) for i, r in enumerate(recorded)}
    steps_of_map = plan if plan is not None else PROCESS_MAPS.get(type_, ())
    # (position among the recorded or None, the planned name or the record) in map order
    slots: list[tuple[int | None, str, RecordedStep | None]] = []
    for name in steps_of_map:
        if name == APPROVAL:
            approvals = [(i, r) for i, r in enumerate(recorded) if is_approval(r.name)]
            slots += [(i, r.name, r) for i, r in approvals] or [(None, APPROVAL, None)]
        elif name in by_name:
            i, r = by_name[name]
            slots.append((i, name, r))
        else:
            slots.append((None, name, None))
    placed = {i for i, _, _ in slots if i is not None}
    for i, r in enumerate(recorded):  # the steps the map does not know, after the one recorded before them
        if i in placed:
            continue
        after = max((k for k, (j, _, _) in enumerate(slots) if j is not None and j < i), default=-1)
        slots.insert(after + 1, (i, r.name, r))
        placed.add(i)
    last_recorded = max((k for k, (j, _, _) in enumerate(slots) if j is not None), default=-1)
    planned_names = set(steps_of_map)
    out: list[MapStep] = []
    for k, (_, name, rec) in enumerate(slots):
        planned = name in planned_names or (is_approval(name) and APPROVAL in planned_names)
        if rec is None:
            state: State = "skipped" if k < last_recorded else ("todo" if running else "not reached")
            out.append(MapStep(name=name, state=state, planned=planned))
            continue
        current = running and name == stage
        if rec.status == StepStatus.FAILED or name in BAD_ENDINGS:
            state = "failed"
        elif rec.status == StepStatus.SKIPPED:
            state = "skipped"
        elif current or (running and rec.status == StepStatus.ACTIVE and stage not in by_name):
            state, current = "current", True
        else:
            state = "done"
        out.append(MapStep(name=name, state=state, current=current, planned=planned, detail=rec.detail,
                           started_at=rec.started_at, finished_at=rec.finished_at))
    return out


def waiting_since(delta_seconds: float) -> str:
    """How long something has waited, in words: "2 days", "3 hours", "5 minutes", "just now"."""
    s = max(int(delta_seconds), 0)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if s >= size:
            n = s // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "just now"


def waiting_reason(open_tasks: list[dict[str, object]], current: MapStep | None, now: datetime) -> str:
    """What the process waits for, in words: the oldest open task's decider and step and since when
    ("waiting for grace's approval (finance) since 2 days"), else the current step's detail."""
    if open_tasks:
        t = min(open_tasks, key=lambda x: x["created_at"])  # type: ignore[arg-type,return-value]  # created_at: a datetime in every open task
        who, role = t.get("assignee") or t.get("candidate_user"), t.get("candidate_role")
        kind = "approval" if t.get("kind") == "approval" else str(t.get("kind") or "action")
        label = str(t.get("step_label") or "")
        if who:
            step = f" ({label})" if label else ""
            who_text = f"{who}'s {kind}"
        else:
            step = f" ({label})" if label and label != role else ""
            who_text = f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} by someone in {role or 'the team'}"
        created = t["created_at"]
        since = waiting_since((now - created).total_seconds()) if isinstance(created, datetime) else ""
        more = f"; {len(open_tasks) - 1} more open task(s)" if len(open_tasks) > 1 else ""
        return f"waiting for {who_text}{step} since {since}{more}"
    if current is None:
        return ""
    return f"{current.name}: {current.detail}" if current.detail else current.name
