"""The comments context's SQL table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.core.db import Base
from domain.core.types import UTCDateTime, utcnow

MAX_TEXT = 4000


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_document_created", "document", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[str] = mapped_column(String(60))  # the business key (EC-00017, PO-00003, FR-00001)
    author: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(String(MAX_TEXT))
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)  # the users told (who may see the document)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
