"""Notifications in SQL: the outbox (`emit`), each user's choice, the webhooks and the deliveries."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.notifications.tables import NotificationEvent

# What people and webhooks may be told about.
EVENTS = ("task.assigned", "task.reminder", "task.escalated", "task.urged", "mention", "request.decided", "copied")


def emit(session: Session, event: str, *, key: str, users: Iterable[str] = (), roles: Iterable[str] = (),
         document: str = "", title: str = "", detail: str = "", link: str = "", exclude: Iterable[str] = ()
         ) -> None:
    """Put one event in the outbox, in the caller's transaction, for `users` and the holders of `roles` (but not
    those in `exclude`). `key` names it: an event already written under that key (a retried activity) writes
    nothing new."""
    key = key[:250]
    if session.execute(select(NotificationEvent.id).where(NotificationEvent.key == key)).first():
        return
    session.add(NotificationEvent(
        key=key, event=event, users=sorted({u for u in users if u}), roles=sorted({r for r in roles if r}),
        exclude=sorted({u for u in exclude if u}),
        document=document[:60], title=title[:300], detail=detail[:2000], link=link[:300]))
    session.flush()
