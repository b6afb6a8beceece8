"""CSV files as the app reads and writes them (items, BOMs, exchange rates, reports). Pure.

Reading: the first line names the columns (case and spaces aside); every row is checked against them and a
refusal names its line (the header is line 1); blank lines are skipped. Writing: a cell a spreadsheet would
run as a formula gets a quote in front (which spreadsheets hide), and reading takes it off again."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.core.errors import Invalid
from domain.core.money import qty_str

MAX_ROWS = 200_000
M = TypeVar("M", bound=BaseModel)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A value as a cell: a decimal plainly (no exponent), text that starts like a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return qty_str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def uncell(text: str) -> str:
    text = text.strip()
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def write(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    w.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


def read(text: str, columns: tuple[str, ...], needed: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(the header's columns, [(line number, {column: cell})]) of a CSV text; blank lines skipped."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise Invalid("the file is empty; its first line names the columns: " + ", ".join(columns)) from None
    except csv.Error as e:
        raise Invalid(f"line 1: {e}") from None
    unknown = [h for h in header if h not in columns]
    if unknown:
        raise Invalid(f"line 1: unknown column {unknown[0]!r}; the columns are {', '.join(columns)}")
    missing = [c for c in needed if c not in header]
    if missing:
        raise Invalid(f"line 1: the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                      f"{'are' if len(missing) > 1 else 'is'} needed")
    twice = next((h for h in header if header.count(h) > 1), None)
    if twice:
        raise Invalid(f"line 1: the column {twice!r} is there twice")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise Invalid(f"line {reader.line_num}: {len(cells)} cells, but the header names {len(header)} columns")
            rows.append((reader.line_num, {h: uncell(c) for h, c in zip(header, cells, strict=True)}))
            if len(rows) > MAX_ROWS:
                raise Invalid(f"over {MAX_ROWS} rows; split the file")
    except csv.Error as e:
        raise Invalid(f"line {reader.line_num}: {e}") from None
    if not rows:
        raise Invalid("the file has a header but no rows")
    return header, rows


def parse(model: type[M], line: int, data: dict[str, Any], lines: dict[str, int] | None = None) -> M:
    """The row as `model`, or a refusal naming the line (`lines`: where each field came from)."""
    try:
        return model(**data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "row"
        raise Invalid(f"line {(lines or {}).get(field, line)}: {field}: {err['msg']}") from None
