"""The core context's SQL tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import UTCDateTime, utcnow


class IdempotencyKey(Base):
    """`state` is "pending" while the first request runs (the unique constraint makes it the only one that runs),
    then "done" with its answer. A first request that failed (5xx, an exception) deletes its row, so a retry runs
    again; rows older than a day are pruned and their keys may be used afresh."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("username", "method", "path", "key", name="uq_idempotency_keys_scope"),
        Index("ix_idempotency_keys_created", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(400))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 hex of the request (content type, query, body)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | done
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[list[list[str]] | None] = mapped_column(JSON, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Sequence(Base):
    """Numbering series (EC-00017): one row per prefix, incremented under the write lock."""

    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


class IdempotencyRecord(Base):
    """One row per side-effecting activity step, written in the transaction of its effect."""

    __tablename__ = "idempotency_records"
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
