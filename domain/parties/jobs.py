"""CSV imports started from the browser: the file as uploaded (checked, then imported as a whole) and where its
import stands (rows done of the total, done or refused with the reason). The import itself is
domain.parties.imports.run, in one transaction; this row is written before and after it, in transactions of
its own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.core.db import Base
from domain.core.errors import Conflict, NotFound
from domain.core.types import UTCDateTime, utcnow

CHECKED, RUNNING, DONE, FAILED = "checked", "running", "done", "failed"
MAX_ERRORS = 500


class ImportJob(Base):
    __tablename__ = "import_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # a domain.parties.imports.KINDS
    file_name: Mapped[str] = mapped_column(String(200), default="")
    content: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(default=0)  # rows in the file
    done: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default=CHECKED)  # checked | running | done | failed
    message: Mapped[str] = mapped_column(String(2000), default="")
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[line, sentence]] of the check, at most MAX_ERRORS
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def create(session: Session, kind: str, file_name: str, content: str, total: int, actor: str,
           errors: list[tuple[int, str]]) -> int:
    """The checked file; with errors it cannot be imported (they are shown with their lines) and is not kept."""
    job = ImportJob(kind=kind, file_name=file_name[:200], content="" if errors else content, total=total, done=0,
                    status=CHECKED, message="", created_by=actor, created_at=utcnow(),
                    errors=[[n, text[:500]] for n, text in errors[:MAX_ERRORS]])
    session.add(job)
    session.flush()
    return job.id


def get(session: Session, job_id: int, actor: str) -> ImportJob:
    """The import, for whoever uploaded it only."""
    job = session.get(ImportJob, job_id)
    if job is None or job.created_by != actor:
        raise NotFound(f"no import {job_id}")
    return job


def start(session: Session, job_id: int, actor: str) -> ImportJob:
    """Marks the checked file as being imported; a second start (a double click, another tab) is refused."""
    job = session.get(ImportJob, job_id, with_for_update=True)
    if job is None or job.created_by != actor:
        raise NotFound(f"no import {job_id}")
    if job.errors:
        raise Conflict(f"the file has {len(job.errors)} bad row{'s' if len(job.errors) > 1 else ''}, so nothing "
                       "is imported: correct them and upload the file again")
    if job.status != CHECKED:
        raise Conflict(f"this file is {'being imported' if job.status == RUNNING else 'imported'} already; "
                       "upload it again to import it again")
    job.status = RUNNING
    session.flush()
    return job


INTERRUPTED = ("the import was interrupted (the server stopped while it ran); nothing of it was stored, since a file "
               "is imported in one transaction: upload it again to import it")


def sweep_interrupted(session: Session, started_before: datetime) -> int:
    """Imports that were running when an API process stopped: their one transaction never committed, so nothing is
    stored; they are marked refused with that reason instead of showing "importing" for ever. Called at an API
    process's start for jobs started before it; another process's import still running finishes and overwrites
    this mark (`finish` sets the outcome)."""
    jobs = session.query(ImportJob).filter(ImportJob.status == RUNNING, ImportJob.created_at < started_before).all()
    for job in jobs:
        job.status, job.message, job.finished_at, job.done, job.content = FAILED, INTERRUPTED, utcnow(), 0, ""
    session.flush()
    return len(jobs)


def finish(session: Session, job_id: int, ok: bool, message: str) -> None:
    job = session.get(ImportJob, job_id)
    if job is None:
        return
    job.status, job.message, job.finished_at = (DONE if ok else FAILED), message[:2000], utcnow()
    job.done = job.total if ok else 0
    job.content = ""  # the file is not kept once imported (or refused)
    session.flush()
