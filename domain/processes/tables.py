"""The processes context's SQL tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow
from domain.processes.rules import ProcessStatus, StepStatus


class Process(Base):
    __tablename__ = "processes"
    __table_args__ = (
        # The monitor's list is newest first, under a type, a status or none; its counts group by type and stage.
        Index("ix_processes_type_status", "type", "status", "started_at"),
        Index("ix_processes_status_started", "status", "started_at"),
        Index("ix_processes_started", "started_at", "process_id"),
        Index("ix_processes_type_started", "type", "started_at", "process_id"),
        Index("ix_processes_type_stage", "type", "stage", "status"),
        Index("ix_processes_owner_started", "owner", "started_at", "process_id"),
    )
    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    business_key: Mapped[str] = mapped_column(String(60), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    owner: Mapped[str] = mapped_column(String(60), default="", index=True)
    amount: Mapped[Decimal | None] = mapped_column(Amount, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=ProcessStatus.RUNNING)  # a ProcessStatus
    stage: Mapped[str] = mapped_column(String(60), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The customer it serves (a lead's company, an order's customer; children inherit their parent's), and the
    # process that started it (a quotation's lead, an order's quotation, the supply of a sales order). NULL on
    # rows recorded before 0006 and for processes with neither.
    customer: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    parent_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)

    steps: Mapped[list[ProcessStep]] = relationship(
        lazy="selectin", order_by="ProcessStep.seq", primaryjoin="Process.process_id == foreign(ProcessStep.process_id)"
    )


class ProcessStep(Base):
    __tablename__ = "process_steps"
    __table_args__ = (UniqueConstraint("process_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    seq: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default=StepStatus.ACTIVE)  # a StepStatus
    detail: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
