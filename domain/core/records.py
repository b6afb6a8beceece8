"""Numbering series, idempotent effects, and one row by its key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.core.errors import NotFound
from domain.core.tables import IdempotencyRecord, Sequence

T = TypeVar("T")


def one(session: Session, model: type[T], where: ColumnElement[bool], missing: str) -> T:
    """The one row of `model` that `where` picks (a unique key), or NotFound saying `missing`."""
    row = session.execute(select(model).where(where)).scalar_one_or_none()
    if row is None:
        raise NotFound(missing)
    return row


def next_number(session: Session, prefix: str, width: int = 5) -> str:
    """EC-00001, EC-00002, …: gap-free per prefix, serialized by the row lock."""
    if session.get(Sequence, prefix) is None:
        try:
            with session.begin_nested():  # two first numbers at once: one insert wins, the other reads it
                session.add(Sequence(name=prefix, next_value=1))
        except IntegrityError:
            pass
    seq = session.execute(select(Sequence).where(Sequence.name == prefix).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one()
    value = seq.next_value
    seq.next_value = value + 1
    session.flush()
    return f"{prefix}-{value:0{width}d}"


def once(session: Session, key: str, effect: Callable[[], Any]) -> Any:
    """Run `effect` unless `key` already ran; store its (JSON) result with the effect, in the same
    transaction, so a retried activity returns the first result instead of acting twice."""
    done = session.get(IdempotencyRecord, key)
    if done is not None:
        return done.result
    result = effect()
    session.add(IdempotencyRecord(key=key, result=result))
    session.flush()
    return result
