"""The monitor's projection: where each process stands, step by step."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.core.types import utcnow
from domain.processes.rules import ProcessStatus, StepStatus
from domain.processes.tables import Process, ProcessStep


def start(session: Session, process_id: str, type_: str, business_key: str, *, title: str = "", owner: str = "",
          amount: Decimal | None = None, first_step: str = "submitted", customer: str | None = None,
          parent_id: str | None = None) -> Process:
    """The process row (once); a child without a customer of its own takes its parent's."""
    proc = session.get(Process, process_id)
    if proc is None:
        if parent_id and not customer:
            parent = session.get(Process, parent_id)
            customer = parent.customer if parent is not None else None
        proc = Process(process_id=process_id, type=type_, business_key=business_key, title=title, owner=owner,
                       amount=amount, status=ProcessStatus.RUNNING, stage=first_step,
                       customer=customer[:200] if customer else None, parent_id=parent_id or None)
        session.add(proc)
        session.flush()
        advance(session, process_id, first_step)
    return proc


def advance(session: Session, process_id: str, step: str, *, detail: str = "", status: ProcessStatus | None = None,
            close: bool = False) -> None:
    """Finish the active step, open `step` (or mark it done when `close`), set the stage; idempotent."""
    proc = session.get(Process, process_id)
    if proc is None:
        return
    now = utcnow()
    steps = list(proc.steps)  # loaded with the process (selectin): no query per step
    existing = next((s for s in steps if s.name == step), None)
    for active in steps:
        if active.status == StepStatus.ACTIVE and active.name != step:
            active.status, active.finished_at = StepStatus.DONE, now
    if existing is None:
        existing = ProcessStep(process_id=process_id, seq=len(steps) + 1, name=step, status=StepStatus.ACTIVE,
                               detail=detail, started_at=now)
        session.add(existing)
        proc.steps.append(existing)
    elif detail:
        existing.detail = detail
    proc.stage = step
    if close:
        existing.status, existing.finished_at = StepStatus.DONE, existing.finished_at or now
    if status:
        proc.status = status
        if status != ProcessStatus.RUNNING:
            proc.closed_at = proc.closed_at or now
    session.flush()


def closing_status(document_status: str) -> ProcessStatus:
    """A process ends `cancelled` when its document was withdrawn, `completed` otherwise."""
    # "cancelled" is the withdrawn end of every document status (claims, requisitions, quotations, sales orders)
    return ProcessStatus.CANCELLED if document_status == ProcessStatus.CANCELLED else ProcessStatus.COMPLETED


def note(session: Session, process_id: str, step: str, detail: str) -> None:
    """Say what a step is waiting for, or how it ended, without moving the process on."""
    row = session.execute(select(ProcessStep).where(ProcessStep.process_id == process_id,
                                                    ProcessStep.name == step)).scalar_one_or_none()
    if row is not None:
        row.detail = detail[:300]
        session.flush()
