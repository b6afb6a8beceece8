"""The org context's SQL tables."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.core.db import Base
from domain.core.types import Amount, UTCDateTime, utcnow


class AuthSession(Base):
    """A token's (or UI cookie's) session, named by the token's `jti`. A request is let in only while its row
    exists, is not revoked and its user is active: the revocation lives in the database, so every API process
    sees it on its next request."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_username", "username"),)
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Why it ended: logout, password, deactivated, roles.
    revoked_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Role(Base):
    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    # Where an overdue task for this role goes next (finance -> cfo).
    escalates_to: Mapped[str | None] = mapped_column(String(40), nullable=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The user's own language ("en", "zh_Hans") and time zone (IANA name) for the UI; None: the browser's
    # Accept-Language, and the company's time zone.
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(60), nullable=True)

    manager: Mapped[User | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)
    role_rows: Mapped[list[UserRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"), primary_key=True, index=True)


class Company(Base):
    """The company's own settings (one row, id 1): what finance, reports and the UI read. No row yet: the
    defaults of domain/org/company.py."""

    __tablename__ = "company"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    base_currency: Mapped[str] = mapped_column(String(3), default="USD")
    fiscal_year_start: Mapped[int] = mapped_column(Integer, default=1)  # the month (1-12) the fiscal year starts
    time_zone: Mapped[str] = mapped_column(String(60), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A customer's credit limit above this (company currency) takes effect only once a second admin or the cfo
    # approves it (domain.changes).
    credit_limit_threshold: Mapped[Decimal] = mapped_column(Amount, default=Decimal(50000),
                                                            server_default="50000")


class RoleGrant(Base):
    """Which role holds which action (domain.permissions.Action): permissions as data, seeded from
    DEFAULT_GRANTS and edited by admin (through a second approval)."""

    __tablename__ = "role_grants"
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(60), primary_key=True)


class GrantsState(Base):
    """One row (id 1): the grants' version, raised by every change of role_grants (each API process and worker
    reloads its mapping when it sees a new one), and the actions whose defaults were seeded already (an action
    admin took from every role stays so; a new action of the code gets its defaults once)."""

    __tablename__ = "grants_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    seeded: Mapped[list[str]] = mapped_column(JSON, default=list)
