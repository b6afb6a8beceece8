"""The API's JSON (api.encoding.ok) is written by orjson now: the bytes are the ones json.dumps(encode(...)) wrote
before, money as "500.00", quantities with their places, dates and datetimes in ISO 8601."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from api.encoding import encode, ok


def before(content: Any) -> bytes:
    """What the response held before orjson (api.encoding up to issue 21)."""
    return json.dumps(encode(content), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Status(StrEnum):
    APPROVED = "approved"


class Line(BaseModel):
    amount: Decimal
    on: date
    note: str = ""


PAYLOADS: list[Any] = [
    {"claim_id": "EC-00001", "total": Decimal("500"), "status": Status.APPROVED, "paid_at": None},
    [{"amount": Decimal("1250.5"), "qty": Decimal("0.125"), "rate": Decimal("7.12345678")},
     {"amount": Decimal("-0.01"), "qty": Decimal("3"), "zero": Decimal("0"), "big": Decimal("99999999999999.99")}],
    {"created_at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC), "naive": datetime(2026, 11, 2, 9, 30, 0, 5),
     "zoned": datetime(2026, 11, 2, 9, 30, 1, 0, tzinfo=timezone(timedelta(hours=8))), "day": date(2026, 2, 28)},
    {"line": Line(amount=Decimal("12.3"), on=date(2026, 1, 1), note="出差 — trip ✓"), "tags": ("a", "b"),
     "roles": frozenset({"finance"}), "count": 3, "ratio": 0.825, "flag": True, "empty": {}, "nested": [[[]]]},
    {"text": 'quotes " and \\ and \n newline, \u2028 separator, \x01 control, emoji 🙂'},
    {1: "int key", "s": "str key"},
    [],
    "plain",
]


def test_orjson_writes_the_bytes_json_dumps_wrote() -> None:
    for payload in PAYLOADS:
        assert ok(payload).body == before(payload), payload


def test_money_and_quantities_read_back_as_the_same_strings() -> None:
    body = json.loads(bytes(ok({"total": Decimal("500"), "qty": Decimal("2.500"), "tiny": Decimal("0.0001")}).body))
    assert body == {"total": "500.00", "qty": "2.50", "tiny": "0.0001"}


def test_what_orjson_refuses_is_written_as_before() -> None:
    huge = {"n": 2**70, "total": Decimal("1")}  # beyond 64 bits: orjson refuses, json.dumps writes it
    assert ok(huge).body == before(huge) == b'{"n":1180591620717411303424,"total":"1.00"}'
