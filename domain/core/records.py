"""Numbering series, idempotent effects, and one row by its key."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
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


NUMBER_RECORD = "number:"  # IdempotencyRecord keys of the numbers a keyed request took: number:<scope>:<prefix>:<n>


@dataclass
class KeyedRequest:
    """A request that runs once per key (an API Idempotency-Key, a form's one-time token): `scope` names its key
    (domain.core.idempotency.scope_hash). Every number it takes is kept under its key, so that when it runs again
    (its API process died half-way, or it failed after starting its process), it takes the same numbers, and the
    process it started is found under the same business key instead of a second one being started."""

    scope: str
    taken: dict[str, int] = field(default_factory=dict)

    def next_update_id(self) -> str:
        """The id of the request's next workflow Update: the same on a run again, so that Temporal answers an Update
        the first run had sent with its first outcome instead of running it twice."""
        n = self.taken.get("#update", 0)
        self.taken["#update"] = n + 1
        return f"request-{self.scope}-u{n}"


keyed_request: ContextVar[KeyedRequest | None] = ContextVar("keyed_request", default=None)


def number_records(scope: str) -> tuple[str, str]:
    """The range of IdempotencyRecord keys of the numbers taken under `scope` (from inclusive, to exclusive)."""
    return f"{NUMBER_RECORD}{scope}:", f"{NUMBER_RECORD}{scope};"


def next_number(session: Session, prefix: str, width: int = 5) -> str:
    """EC-00001, EC-00002, …: gap-free per prefix, serialized by the row lock. Within a keyed request
    (`keyed_request`), the n-th number of a prefix is the one the request's earlier run took, if it took one."""
    request = keyed_request.get()
    if request is None:
        return _take_number(session, prefix, width)
    n = request.taken.get(prefix, 0)
    request.taken[prefix] = n + 1
    key = f"{number_records(request.scope)[0]}{prefix}:{n}"
    done = session.get(IdempotencyRecord, key)
    if done is not None:
        return str(done.result)
    number = _take_number(session, prefix, width)
    session.add(IdempotencyRecord(key=key, result=number))
    session.flush()
    return number


def _take_number(session: Session, prefix: str, width: int) -> str:
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
