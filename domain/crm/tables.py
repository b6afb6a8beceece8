"""The crm context's SQL tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from domain.core.db import Base
from domain.core.names import MAX_KEY, email_key, name_key
from domain.core.types import Amount, UTCDateTime, utcnow
from domain.crm.rules import LeadStatus, OpportunityStage


class Contact(Base):
    """A person at a customer. One row per person: the same e-mail (whatever its case) or the same name
    (domain.names.name_key) at the same customer is the same contact, held by two unique keys."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("customer_id", "email_key", name="uq_contacts_customer_email"),
                      UniqueConstraint("customer_id", "name_key", name="uq_contacts_customer_name"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(MAX_KEY))
    email: Mapped[str] = mapped_column(String(254), default="")
    email_key: Mapped[str | None] = mapped_column(String(254), nullable=True)  # lower-cased; None without one
    phone: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("name")
    def _keyed(self, _: str, name: str) -> str:
        self.name_key = name_key(name)
        return name

    @validates("email")
    def _email_keyed(self, _: str, email: str) -> str:
        self.email_key = email_key(email)
        return email


class ScoringRuleRow(Base):
    """One lead-scoring rule (domain.crm.ScoringRule as a row); applied in `position` order."""

    __tablename__ = "scoring_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    param: Mapped[str] = mapped_column(String(60), default="")
    points: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(300))


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (Index("ix_leads_owner_status", "owner", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    company: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    source: Mapped[str] = mapped_column(String(20))
    estimated_value: Mapped[Decimal] = mapped_column(Amount)
    notes: Mapped[str] = mapped_column(String(2000), default="")
    owner: Mapped[str | None] = mapped_column(String(60), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.NEW)  # a LeadStatus
    score: Mapped[int] = mapped_column(default=0)
    score_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    disqualify_reason: Mapped[str] = mapped_column(String(500), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    process_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    qualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LeadActivity(Base):
    """Engagement: calls, e-mails, meetings, notes. They feed the score and reset follow-up timers."""

    __tablename__ = "lead_activities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # call | email | meeting | note
    note: Mapped[str] = mapped_column(String(2000), default="")
    actor: Mapped[str] = mapped_column(String(60))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Opportunity(Base):
    __tablename__ = "opportunities"
    __table_args__ = (Index("ix_opportunities_stage_owner", "stage", "owner"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20), default=OpportunityStage.QUALIFICATION)  # an OpportunityStage
    probability: Mapped[int] = mapped_column(default=10)
    amount: Mapped[Decimal] = mapped_column(Amount)
    expected_value: Mapped[Decimal] = mapped_column(Amount)
    owner: Mapped[str] = mapped_column(String(60))
    lost_reason: Mapped[str] = mapped_column(String(500), default="")
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
