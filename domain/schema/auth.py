"""Login sessions: one row per token or UI session issued, so that any of them can be ended at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base
from domain.schema.types import UTCDateTime, utcnow


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
