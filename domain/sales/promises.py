"""What a quotation keeps of capable-to-promise (domain/planning/promise.py computes it; sales never imports
planning: the API asks planning and hands the promises over in the quotation's draft): each line's promise, and
the lines promised after the customer's requested date, which send the quotation to approval like a discount
beyond the limit. Pure: workflows import this."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from domain.sales.pricing import Review


class LinePromise(BaseModel):
    """The promise of one quotation line when it was recorded."""

    sku: str = Field(min_length=1, max_length=60)
    promise_date: date
    basis: Literal["stock", "supply", "build", "purchase"]
    constrained_by: str = Field(max_length=300)  # "BLADE-SET: supplier lead time (6 days)"
    constraint: dict[str, Any] = {}  # the same as data: why, sku, reference, due, days


def late_lines(requested: date | None, promises: Sequence[LinePromise]) -> list[LinePromise]:
    """The lines promised after the requested date (none without one)."""
    return [] if requested is None else [p for p in promises if p.promise_date > requested]


def late_reasons(requested: date | None, promises: Sequence[LinePromise]) -> list[str]:
    """Each line promised after the requested date, as a reason for approval."""
    if requested is None:
        return []
    return [f"line {p.sku} can ship {p.promise_date}, {(p.promise_date - requested).days} day(s) after the "
            f"requested {requested} ({p.constrained_by})" for p in late_lines(requested, promises)]


def with_lateness(review: Review, requested: date | None, promises: Sequence[LinePromise]) -> Review:
    """The price review with the late lines among its reasons: a quotation that promises later than the customer
    asked goes to the sales manager first, with the sentence, as a discount beyond the limit does."""
    late = late_reasons(requested, promises)
    if not late:
        return review
    return review.model_copy(update={"needs_approval": True, "reasons": [*review.reasons, *late]})


def is_late(requested: date | None, promised: date | None) -> bool:
    return requested is not None and promised is not None and promised > requested


class _PromisedLine(Protocol):
    promise_date: date | None
    promise_basis: str | None
    constrained_by: str | None
    promise_constraint: dict[str, Any] | None


def line_view(requested: date | None, line: _PromisedLine) -> dict[str, Any]:
    """A stored line's promise as the quotation's views show it (None before promises existed)."""
    return {"promise_date": line.promise_date, "promise_basis": line.promise_basis,
            "constrained_by": line.constrained_by, "constraint": line.promise_constraint,
            "late": is_late(requested, line.promise_date)}
