"""The audit trail: `record(...)` in the same transaction as the change it describes, so a change and its line
are stored together or not at all; `trail(...)` reads a record's lines, newest first, for its page.

Pure data in, JSON out: `before`/`after` are made JSON-safe here (Decimal, date and datetime as text, sets as
sorted lists), so callers hand in plain dicts of what they changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.audit.tables import AuditEntry
from domain.core.types import utcnow

CREATED, CHANGED, DEACTIVATED, DELETED = "created", "changed", "deactivated", "deleted"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    dump = getattr(value, "model_dump", None)  # a pydantic model
    if callable(dump):
        return _plain(dump())
    return str(value)


def record(session: Session, actor: str, entity: str, key: str | int, before: Any, after: Any,
           action: str | None = None) -> AuditEntry | None:
    """One line of the audit trail: `actor` changed `entity` `key` from `before` to `after` (None before: created;
    None after: deleted). Nothing is written when nothing changed. Call it in the change's own transaction."""
    old, new = _plain(before), _plain(after)
    if old == new:
        return None
    if action is None:
        action = CREATED if old is None else DELETED if new is None else CHANGED
    row = AuditEntry(at=utcnow(), actor=actor[:60], entity=entity[:60], key=str(key)[:120], action=action[:20],
                     before=old, after=new)
    session.add(row)
    session.flush()
    return row


def changed_fields(before: Any, after: Any) -> list[str]:
    """The top-level fields that differ between two dict snapshots (for a short summary)."""
    old = _plain(before) if isinstance(before, Mapping) else {}
    new = _plain(after) if isinstance(after, Mapping) else {}
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def trail(session: Session, entity: str | None = None, key: str | int | None = None, limit: int = 100,
          offset: int = 0) -> list[dict[str, Any]]:
    """A record's lines (or all of an entity's, or every line), newest first."""
    query = select(AuditEntry)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if key is not None and key != "":
        query = query.where(AuditEntry.key == str(key))
    rows: Sequence[AuditEntry] = session.execute(
        query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).scalars().all()
    return [{"id": r.id, "at": r.at, "actor": r.actor, "entity": r.entity, "key": r.key, "action": r.action,
             "before": r.before, "after": r.after, "fields": changed_fields(r.before, r.after)} for r in rows]
