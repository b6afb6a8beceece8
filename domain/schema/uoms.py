"""Units of measure: whether each is counted in whole units (domain.uoms)."""

from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base


class Uom(Base):
    __tablename__ = "uoms"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), default="")
    whole: Mapped[bool] = mapped_column(Boolean, default=False)
