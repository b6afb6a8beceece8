"""JSON out: money and quantities as decimal strings ("1250.00"), dates as ISO 8601."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from fastapi.responses import JSONResponse

from domain.core.money import qty_str

CENTS = Decimal("0.01")


def decimal_str(value: Decimal) -> str:
    """Two places where that is exact (money), otherwise as many as the value has (quantities)."""
    if value == value.quantize(CENTS):
        return str(value.quantize(CENTS))
    return qty_str(value)


def encode(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return decimal_str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {k: encode(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [encode(v) for v in obj]
    if hasattr(obj, "model_dump"):
        return encode(obj.model_dump())
    return obj


def _default(obj: Any) -> Any:
    """What orjson does not encode itself, as `encode` has it."""
    if isinstance(obj, Decimal):
        return decimal_str(obj)
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, set | frozenset):
        return list(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


# Dates and datetimes through `_default` (isoformat, as before: orjson would drop a zero microsecond
# differently); dict subclasses and str enums as their plain values; keys that are not strings as strings.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


class DecimalJSONResponse(JSONResponse):
    """The bytes `json.dumps(encode(content), ensure_ascii=False, separators=(",", ":"))` gave, written by
    orjson in one pass (no copy of the content through `encode` first). One difference: a float NaN or
    infinity is written null (json.dumps wrote NaN, which no JSON parser reads)."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, default=_default, option=_OPTIONS)
        except (TypeError, orjson.JSONEncodeError):  # what orjson refuses (an int over 64 bits): as before
            return json.dumps(encode(content), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def ok(content: Any, status_code: int = 200) -> DecimalJSONResponse:
    return DecimalJSONResponse(content, status_code=status_code)
