"""Requests that run once per key: the API's `Idempotency-Key` and the UI's one-time form tokens.

A key is scoped to its caller, the method and the path. The first request inserts a pending row (the unique
constraint decides, on SQLite and PostgreSQL alike, which of several concurrent requests that is), runs, and stores
its answer; every repeat gets that answer. Each function here is one short unit of work of its own."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.core.records import NUMBER_RECORD, number_records
from domain.core.tables import IdempotencyKey, IdempotencyRecord
from domain.core.types import utcnow

KEEP = timedelta(hours=24)  # a key older than this is forgotten: the same key is then a new request
# A pending row older than this belongs to a request that died with its process (no request runs this long:
# a workflow Update gives up after 30 s); a repeat may then run in its place.
ABANDONED = timedelta(minutes=2)


@dataclass(frozen=True)
class Scope:
    username: str
    method: str
    path: str
    key: str


def scope_hash(scope: Scope) -> str:
    """A short stable name of `scope`, for the numbers its request takes (domain.core.records.KeyedRequest)."""
    h = hashlib.sha256()
    for part in (scope.username, scope.method, scope.path, scope.key):
        h.update(len(part).to_bytes(4, "big"))
        h.update(part.encode())
    return h.hexdigest()[:40]


def _forget_numbers(session: Session, scope: Scope) -> None:
    low, high = number_records(scope_hash(scope))
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key >= low, IdempotencyRecord.key < high))


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: list[list[str]]
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What a request with a key found: `claimed` (it is the first: run it, then `finish` or `release` row `id`),
    `answer` (done before: send it), `pending` (another request with the key runs now) or `mismatch` (the key
    was used for another request)."""

    kind: str
    id: int = 0
    answer: Answer | None = None


def _find(session: Session, scope: Scope) -> IdempotencyKey | None:
    return session.execute(select(IdempotencyKey).where(
        IdempotencyKey.username == scope.username, IdempotencyKey.method == scope.method,
        IdempotencyKey.path == scope.path, IdempotencyKey.key == scope.key)).scalar_one_or_none()


def _judge(row: IdempotencyKey, fingerprint: str | None) -> Outcome:
    if fingerprint is not None and row.fingerprint != fingerprint:
        return Outcome("mismatch")
    if row.state == "done" and row.status_code is not None:
        return Outcome("answer", row.id, Answer(row.status_code, list(row.response_headers or []),
                                                bytes(row.response_body or b"")))
    return Outcome("pending", row.id)


def claim(session: Session, scope: Scope, fingerprint: str | None, now: datetime | None = None) -> Outcome:
    """Claim `scope` for a request with `fingerprint` (None: any request with the key is the same one), or say
    what holds it. Commit right after, so that concurrent requests see the claim."""
    now = now or utcnow()
    for _ in range(3):
        row = _find(session, scope)
        if row is not None:
            stale = row.created_at < now - KEEP or (row.state == "pending" and row.created_at < now - ABANDONED)
            if not stale:
                return _judge(row, fingerprint)
            if row.created_at < now - KEEP:  # forgotten: the key is a new request, which takes new numbers
                _forget_numbers(session, scope)
            session.delete(row)
            session.flush()
        try:
            with session.begin_nested():
                row = IdempotencyKey(username=scope.username, method=scope.method, path=scope.path, key=scope.key,
                                     fingerprint=fingerprint or "", state="pending", created_at=now)
                session.add(row)
            return Outcome("claimed", row.id)
        except IntegrityError:  # a concurrent request inserted it first: judge theirs
            continue
    row = _find(session, scope)
    return _judge(row, fingerprint) if row is not None else Outcome("pending")


def look(session: Session, scope: Scope, fingerprint: str | None) -> Outcome | None:
    """What holds `scope` now, without claiming it; None when nothing does (the first request failed)."""
    row = _find(session, scope)
    return _judge(row, fingerprint) if row is not None else None


def finish(session: Session, row_id: int, answer: Answer) -> None:
    """The claimed request's answer, for every repeat of it."""
    row = session.get(IdempotencyKey, row_id)
    if row is None:  # pruned or taken over meanwhile (it ran past ABANDONED): nothing to keep it under
        return
    row.state, row.status_code, row.finished_at = "done", answer.status_code, utcnow()
    row.response_headers, row.response_body = answer.headers, answer.body


def release(session: Session, row_id: int) -> None:
    """The claimed request failed without an answer worth repeating: a retry with its key runs again."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id, IdempotencyKey.state == "pending"))


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget keys older than KEEP; the number forgotten."""
    cutoff = (now or utcnow()) - KEEP
    # the numbers keyed requests took are kept as long as their keys (and the claim of a key forgotten before this
    # prune forgets its numbers itself)
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.key.startswith(NUMBER_RECORD, autoescape=True),
                                                    IdempotencyRecord.created_at < cutoff))
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # a DML statement returns a CursorResult, which has rowcount
