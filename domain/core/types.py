"""Column types that keep Decimal exact and datetimes aware on every database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator

SCALE = 4
_FACTOR = Decimal(10) ** SCALE
_QUANT = Decimal(1).scaleb(-SCALE)


class Amount(TypeDecorator[Decimal]):
    """Money and quantities: NUMERIC(18,4) on PostgreSQL; on SQLite (which has no decimal type)
    an integer of ten-thousandths, so sums, comparisons and ordering stay exact in SQL."""

    impl = Numeric(18, SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(_QUANT)
        if dialect.name == "sqlite":
            return int(value * _FACTOR)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / _FACTOR).quantize(_QUANT)
        return Decimal(value).quantize(_QUANT)


class Rate(TypeDecorator[Decimal]):
    """An exchange rate (company currency per unit of another): ten decimal places, exact on both databases
    (NUMERIC(24,10) on PostgreSQL, an integer of 1e-10 units on SQLite)."""

    impl = Numeric(24, 10)
    cache_ok = True
    _SCALE = 10

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, self._SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal(1).scaleb(-self._SCALE))
        return int(value.scaleb(self._SCALE)) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        q = Decimal(1).scaleb(-self._SCALE)
        return (Decimal(int(value)).scaleb(-self._SCALE) if dialect.name == "sqlite" else Decimal(value)).quantize(q)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in and out; SQLite forgets the zone, so we put UTC back on load."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
