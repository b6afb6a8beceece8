"""The attachments context's SQL table: one row per file attached to a document (the bytes live in storage,
under their SHA-256: the same content attached twice is stored once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import UTCDateTime, utcnow


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a uuid4: ids reveal nothing
    # The business key of the document (EC-00017, PO-00003, BILL-00002, FR-00001, ...), or "draft:<username>"
    # for a file uploaded before its document exists (joined to it when the document is filed).
    document: Mapped[str] = mapped_column(String(80), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
