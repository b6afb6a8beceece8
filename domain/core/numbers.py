"""Numbers as they arrive (issue 15): the API takes plain ASCII decimals only; a web form reads what a person
types in their locale and hands on the plain decimal. Pure.

- `PlainDecimal`: the one annotated Decimal type of every request quantity, amount, price, rate and hours.
  It takes a JSON number (a float read through its shortest repr, so 12.5 is 12.5 and never
  12.4999999…) or a string that is a plain ASCII decimal (`-?[0-9]+(\\.[0-9]+)?`): no grouping (`1,000`,
  `1_000`), no exponent (`1e3`), no sign `+`, no spaces, no digits of other scripts (`١٢٣`, `１２３`), no
  NaN or Infinity; anything else is a 422 that says so. It is written back (JSON) as a plain decimal
  string, never with an exponent, so what one side writes the other side reads.
- `read_number`: a number typed in a web form — surrounding spaces, grouping commas (`1,250.50`), the
  full-width digits, point and comma of a Chinese input method (`１，２５０．５０`) — as the plain Decimal;
  anything else (`12 34`, `1,5`, `1.000,50`, `١٢`, `1e3`) is refused with a sentence naming the field.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetJsonSchemaHandler, PlainSerializer
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from domain.core.errors import Invalid

PLAIN_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
PLAIN = re.compile(PLAIN_PATTERN, re.ASCII)
PLAIN_MESSAGE = ("must be a plain decimal number such as 1250.00: ASCII digits with an optional leading minus "
                 "and one decimal point; no grouping separators, exponent, spaces or other digits")


def _refuse(value: Any) -> PydanticCustomError:
    shown = repr(value)[:40]
    return PydanticCustomError("plain_decimal", "Input {problem}, not {value}",
                               {"problem": PLAIN_MESSAGE, "value": shown})


def _plain_decimal(d: Decimal) -> Decimal:
    """Without a positive exponent (1E+3 → 1000), so str() of it is plain. Beyond 40 digits it stays as it is:
    no bound of any field lets it through."""
    exponent = d.as_tuple().exponent  # a str ('n', 'N', 'F') for NaN and Infinity, which stay as they are
    if not isinstance(exponent, int) or exponent <= 0 or d.adjusted() > 40:
        return d
    return Decimal(format(d, "f"))  # exact, whatever the context's precision


def to_plain_decimal(value: Any) -> Any:
    """The BeforeValidator of PlainDecimal."""
    if isinstance(value, bool):
        raise _refuse(value)
    if isinstance(value, str):
        if not PLAIN.match(value):
            raise _refuse(value)
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _refuse(value)
        return _plain_decimal(Decimal(repr(value)))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _refuse(value)
        return _plain_decimal(value)
    raise _refuse(value)


def plain_str(value: Decimal) -> str:
    """A Decimal as a plain decimal string (never an exponent): 1E+3 → "1000", 0E-8 → "0.00000000"."""
    return format(value, "f")


class _PlainJsonSchema:
    """The string form in the OpenAPI schema carries the pattern it is held to."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        out = handler(schema)
        for branch in out.get("anyOf", ()):
            if branch.get("type") == "string":
                branch["pattern"] = PLAIN_PATTERN
        return out


PlainDecimal = Annotated[Decimal, BeforeValidator(to_plain_decimal), PlainSerializer(plain_str, when_used="json"),
                         _PlainJsonSchema()]

PLAIN_INT_PATTERN = r"^-?[0-9]+$"
PLAIN_INT = re.compile(PLAIN_INT_PATTERN, re.ASCII)
PLAIN_INT_MESSAGE = "must be a whole number in plain ASCII digits such as 30, with an optional leading minus"


def to_plain_int(value: Any) -> Any:
    """The BeforeValidator of PlainInt: an integer, a JSON number with no fraction, or a string of ASCII digits;
    never `1_000`, ` 12`, `+12`, `12.0` as text, nor digits of other scripts (pydantic's int takes the first four)."""
    if isinstance(value, bool):
        raise PydanticCustomError("plain_int", "Input {problem}, not {value}",
                                  {"problem": PLAIN_INT_MESSAGE, "value": repr(value)[:40]})
    if isinstance(value, int):
        return value
    if isinstance(value, str) and PLAIN_INT.match(value) and len(value) <= 40:
        return int(value)
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return int(value)
    raise PydanticCustomError("plain_int", "Input {problem}, not {value}",
                              {"problem": PLAIN_INT_MESSAGE, "value": repr(value)[:40]})


# Every whole number a request carries (ids, days, paging, points): held to the same rule as PlainDecimal.
PlainInt = Annotated[int, BeforeValidator(to_plain_int)]

# A document by its number (INV-00001, PO-00002: ASCII capitals, a dash, ASCII digits) or by its integer id.
DocumentRef = (Annotated[PlainInt, Field(ge=1, le=2**31 - 1)]
               | Annotated[str, Field(min_length=3, max_length=30, pattern=r"^[A-Z]{1,10}-[0-9]{1,18}$")])

# --- what a person types in a web form --------------------------------------------------------------

_FULL_WIDTH = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                             "\uff0e": ".", "\uff0c": ",", "\uff0d": "-", "\u2212": "-", "\u3002": "."})
_GROUPED = re.compile(r"^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$", re.ASCII)
_SPACES = " \t\r\n\u00a0\u2007\u202f\u3000"


def read_number(text: str, what: str) -> Decimal | None:
    """A number typed in a form field, as the plain Decimal the API would take; None when left empty.
    Reads grouping commas in threes (1,250.50) and full-width digits, point, comma and minus (１，２５０．５);
    refuses anything else with a sentence naming `what`."""
    typed = (text or "").strip(_SPACES)
    if not typed:
        return None
    plain = typed.translate(_FULL_WIDTH)
    if _GROUPED.match(plain):
        plain = plain.replace(",", "")
    if not PLAIN.match(plain):
        raise Invalid(f"{what} must be a number, not {typed[:40]!r}")
    try:
        return Decimal(plain)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise Invalid(f"{what} must be a number, not {typed[:40]!r}") from None


def read_whole(text: str, what: str) -> int | None:
    """A whole number typed in a form field (an id chosen from a list, days, a page): as `read_number` reads it,
    without a fraction; None when left empty. `²` or `١٢` (which str.isdigit takes) are refused with a sentence."""
    number = read_number(text, what)
    if number is None:
        return None
    if number != number.to_integral_value() or abs(number) > 10**12:
        raise Invalid(f"{what} must be a whole number, not {(text or '').strip()[:40]!r}")
    return int(number)
