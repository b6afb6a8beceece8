"""JSON out: money and quantities as decimal strings ("1250.00"), dates as ISO 8601."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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


class DecimalJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(encode(content), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def ok(content: Any, status_code: int = 200) -> DecimalJSONResponse:
    return DecimalJSONResponse(content, status_code=status_code)
