"""Notifications in SQL: the outbox (`emit`), each user's choice, the webhooks and the deliveries."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.audit import services as audit
from domain.core.errors import Invalid, NotFound
from domain.core.types import utcnow
from domain.notifications.tables import NotificationDelivery, NotificationEvent, NotificationPref, Webhook
from domain.org.tables import User, UserRole

# What people and webhooks may be told about.
EVENTS = ("task.assigned", "task.reminder", "task.escalated", "task.urged", "mention", "request.decided", "copied")


def emit(session: Session, event: str, *, key: str, users: Iterable[str] = (), roles: Iterable[str] = (),
         document: str = "", title: str = "", detail: str = "", link: str = "", exclude: Iterable[str] = ()
         ) -> None:
    """Put one event in the outbox, in the caller's transaction, for `users` and the holders of `roles` (but not
    those of them in `exclude`). `key` names it: an event already written under that key (a retried activity) writes
    nothing new."""
    key = key[:250]
    if session.execute(select(NotificationEvent.id).where(NotificationEvent.key == key)).first():
        return
    session.add(NotificationEvent(
        key=key, event=event, users=sorted({u for u in users if u}), roles=sorted({r for r in roles if r}),
        exclude=sorted({u for u in exclude if u}),
        document=document[:60], title=title[:300], detail=detail[:2000], link=link[:300]))
    session.flush()


def amend(session: Session, key: str, detail: str) -> bool:
    """Give the event written under `key` this detail while no mail or post of it has been made (the dispatcher
    has not taken it yet); False when it has, or there is no such event."""
    row = session.execute(select(NotificationEvent).where(NotificationEvent.key == key[:250])).scalar_one_or_none()
    if row is None or row.dispatched_at is not None:
        return False
    row.detail = detail[:2000]
    session.flush()
    return True


# --- each user's choice -------------------------------------------------------------------------------------

MODES = ("now", "digest", "off")


def mode_of(session: Session, username: str) -> str:
    row = session.get(NotificationPref, username)
    return row.mode if row is not None else "now"


def set_mode(session: Session, username: str, mode: str) -> None:
    if mode not in MODES:
        raise Invalid(f"notify must be one of {', '.join(MODES)}, not {mode!r}")
    row = session.get(NotificationPref, username)
    if row is None:
        session.add(NotificationPref(username=username, mode=mode))
    else:
        row.mode = mode
    session.flush()


# --- webhooks -----------------------------------------------------------------------------------------------

MIN_SECRET = 16


class WebhookIn(BaseModel):
    url: str = Field(max_length=500)
    events: list[str] = Field(min_length=1, max_length=20)  # as the API takes them: duplicates are one
    secret: str = Field(max_length=200)


def check_webhook(w: WebhookIn) -> None:
    """Invalid unless the URL is http(s) with a host, every event is known and the secret long enough."""
    url = w.url.strip()
    if any(c <= " " or c == "\x7f" for c in url):  # urlsplit drops tabs and line breaks; the stored URL would not
        raise Invalid("a webhook URL cannot contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1/": an unclosed IPv6 address
        raise Invalid(f"a webhook URL must be http:// or https:// with a host, not {w.url[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"a webhook URL must be http:// or https:// with a host, not {w.url[:80]!r}")
    if parts.username is not None or parts.password is not None:  # GET /api/webhooks would show them to every admin
        raise Invalid("a webhook URL cannot carry a user name or password (user:password@host); the signature "
                      "with the secret proves the post is ours")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise Invalid(f"a webhook URL's port must be a number from 1 to 65535, not {w.url[:80]!r}") from None
    unknown = sorted(set(w.events) - set(EVENTS))
    if unknown:
        raise Invalid(f"unknown event {unknown[0]!r}: the events are {', '.join(EVENTS)}")
    if len(w.secret) < MIN_SECRET:
        raise Invalid(f"a webhook secret must be at least {MIN_SECRET} characters")


def add_webhook(session: Session, actor: str, w: WebhookIn) -> int:
    check_webhook(w)
    row = Webhook(url=w.url.strip(), events=sorted(set(w.events)), secret=w.secret, created_by=actor)
    session.add(row)
    session.flush()
    audit.record(session, actor, "webhook", row.id, None, {"url": row.url, "events": row.events})
    return row.id


def webhooks(session: Session) -> list[Webhook]:
    return list(session.execute(select(Webhook).where(Webhook.active.is_(True)).order_by(Webhook.id)).scalars())


def remove_webhook(session: Session, actor: str, webhook_id: int) -> None:
    """The webhook gets nothing more (its row stays, for the deliveries that name it)."""
    row = session.get(Webhook, webhook_id)
    if row is None or not row.active:
        raise NotFound(f"no webhook {webhook_id}")
    row.active = False
    audit.record(session, actor, "webhook", row.id, {"url": row.url, "events": row.events}, None)
    session.flush()


# --- the dispatcher's outbox ---------------------------------------------------------------------------------

def undispatched(session: Session, limit: int = 100) -> list[int]:
    return list(session.execute(select(NotificationEvent.id).where(NotificationEvent.dispatched_at.is_(None))
                                .order_by(NotificationEvent.id).limit(limit)).scalars())


def mark_dispatched(session: Session, event_ids: Iterable[int]) -> None:
    now = utcnow()
    for row in session.execute(select(NotificationEvent).where(NotificationEvent.id.in_(list(event_ids)))
                               ).scalars():
        row.dispatched_at = row.dispatched_at or now
    session.flush()


# --- deliveries ---------------------------------------------------------------------------------------------

class Plan(BaseModel):
    """The deliveries a Notify process still has to make: e-mails and webhook posts, by delivery id."""

    emails: list[int] = []
    webhooks: list[int] = []


def recipients(session: Session, event: NotificationEvent) -> list[User]:
    """The event's users, and the holders of its roles but those it excludes (a task's requester holding the
    role); active ones only."""
    names = set(event.users)
    if event.roles:
        holders = set(session.execute(select(User.username).join(UserRole, UserRole.user_id == User.id)
                                      .where(UserRole.role.in_(event.roles))).scalars())
        names |= holders - set(event.exclude)
    if not names:
        return []
    return list(session.execute(select(User).where(User.username.in_(sorted(names)), User.active.is_(True))
                                .order_by(User.username)).scalars())


def _delivery(session: Session, event_id: int, channel: str, target: str, status: str = "pending",
              note: str = "") -> NotificationDelivery:
    row = session.execute(select(NotificationDelivery).where(
        NotificationDelivery.event_id == event_id, NotificationDelivery.channel == channel,
        NotificationDelivery.target == target)).scalar_one_or_none()
    if row is None:
        row = NotificationDelivery(event_id=event_id, channel=channel, target=target, status=status, attempts=0,
                                   last_error=note)
        session.add(row)
        session.flush()
    return row


def plan(session: Session, event_id: int, *, email_on: bool) -> Plan:
    """Write the event's deliveries (once: a retry finds them): an e-mail for each recipient who chose "now" and
    has an address (skipped when no SMTP server is set), a digest line for those who chose "digest", a post for
    each active webhook that asked for the event. Returns the e-mails and posts not yet delivered."""
    event = session.get(NotificationEvent, event_id)
    if event is None:
        raise NotFound(f"no notification event {event_id}")
    out = Plan()
    for user in recipients(session, event):
        mode = mode_of(session, user.username)
        if mode == "digest":
            _delivery(session, event.id, "digest", user.username)
        elif mode == "off":
            _delivery(session, event.id, "email", user.username, "skipped", "notifications off")
        elif not user.email:
            _delivery(session, event.id, "email", user.username, "skipped", "no e-mail address")
        elif not email_on:
            _delivery(session, event.id, "email", user.username, "skipped", "no SMTP server is set")
        else:
            row = _delivery(session, event.id, "email", user.username)
            if row.status not in ("delivered", "skipped"):
                out.emails.append(row.id)
    for hook in webhooks(session):
        if event.event in hook.events:
            row = _delivery(session, event.id, "webhook", str(hook.id))
            if row.status not in ("delivered", "skipped"):
                out.webhooks.append(row.id)
    return out


class EventView(BaseModel):
    id: int
    event: str
    document: str
    title: str
    detail: str
    link: str
    created_at: datetime


class EmailJob(BaseModel):
    delivery_id: int
    to: str
    full_name: str
    locale: str
    event: EventView


class WebhookJob(BaseModel):
    delivery_id: int
    url: str
    secret: str
    event: str
    body: bytes


def _view(event: NotificationEvent) -> EventView:
    return EventView(id=event.id, event=event.event, document=event.document, title=event.title,
                     detail=event.detail, link=event.link, created_at=event.created_at)


def email_job(session: Session, delivery_id: int) -> EmailJob | None:
    """What one e-mail delivery sends; None when it is delivered already (or no longer to be sent)."""
    row = session.get(NotificationDelivery, delivery_id)
    if row is None or row.channel != "email" or row.status in ("delivered", "skipped"):
        return None
    event = session.get(NotificationEvent, row.event_id)
    user = session.execute(select(User).where(User.username == row.target)).scalar_one_or_none()
    if event is None or user is None or not user.email:
        return None
    return EmailJob(delivery_id=row.id, to=user.email, full_name=user.full_name or user.username,
                    locale=user.locale or "en", event=_view(event))


def webhook_body(delivery: NotificationDelivery, event: NotificationEvent, base_url: str = "") -> bytes:
    """The JSON a webhook receives, as exact bytes (the signature is over them)."""
    link = f"{base_url.rstrip('/')}{event.link}" if base_url and event.link.startswith("/") else event.link
    return json.dumps({
        "delivery": delivery.id, "event_id": event.id, "event": event.event, "document": event.document,
        "title": event.title, "detail": event.detail, "link": link, "users": event.users, "roles": event.roles,
        "created_at": event.created_at.isoformat(),
    }, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> str:
    """The X-Valueloop-Signature header's value: sha256=<hex HMAC-SHA256 of the body with the secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_job(session: Session, delivery_id: int, base_url: str = "") -> WebhookJob | None:
    row = session.get(NotificationDelivery, delivery_id)
    if row is None or row.channel != "webhook" or row.status in ("delivered", "skipped"):
        return None
    event = session.get(NotificationEvent, row.event_id)
    hook = session.get(Webhook, int(row.target))
    if event is None or hook is None:
        return None
    if not hook.active:  # removed since: nothing more is posted to it
        row.status, row.last_error = "skipped", "webhook removed"
        session.flush()
        return None
    return WebhookJob(delivery_id=row.id, url=hook.url, secret=hook.secret, event=event.event,
                      body=webhook_body(row, event, base_url))


def attempted(session: Session, delivery_id: int, attempt: int, error: str | None) -> None:
    """One try of a delivery: delivered (error None) or failed with `error` (Temporal tries again)."""
    row = session.get(NotificationDelivery, delivery_id)
    if row is None or row.status == "delivered":
        return
    row.attempts = max(row.attempts, attempt)
    if error is None:
        row.status, row.delivered_at, row.last_error = "delivered", utcnow(), ""
    else:
        row.status, row.last_error = "failed", error[:500]
    session.flush()


def give_up(session: Session, delivery_ids: Iterable[int], reason: str) -> None:
    """Deliveries no retry can make (a mail that cannot be written): skipped, the reason kept."""
    for row in session.execute(select(NotificationDelivery).where(NotificationDelivery.id.in_(list(delivery_ids)))
                               ).scalars():
        if row.status != "delivered":
            row.status, row.last_error = "skipped", reason[:500]
    session.flush()


def undelivered(session: Session, older_than: timedelta = timedelta(days=1), limit: int = 200
                ) -> list[tuple[NotificationDelivery, NotificationEvent]]:
    """Deliveries not made after `older_than` (admin's list): e-mails and webhook posts still being retried."""
    cutoff = utcnow() - older_than
    rows = session.execute(
        select(NotificationDelivery, NotificationEvent)
        .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
        .where(NotificationDelivery.status.in_(("pending", "failed")), NotificationDelivery.channel != "digest",
               NotificationDelivery.created_at < cutoff)
        .order_by(NotificationDelivery.created_at, NotificationDelivery.id).limit(limit))
    return [(d, e) for d, e in rows.all()]


# --- the daily digest ---------------------------------------------------------------------------------------

class DigestJob(BaseModel):
    username: str
    to: str
    full_name: str
    locale: str
    delivery_ids: list[int]
    events: list[EventView]


def digests(session: Session) -> list[DigestJob]:
    """For each user with digest lines not yet sent (and an address): one mail's worth."""
    rows = session.execute(
        select(NotificationDelivery, NotificationEvent)
        .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
        .where(NotificationDelivery.channel == "digest", NotificationDelivery.status.in_(("pending", "failed")))
        .order_by(NotificationDelivery.target, NotificationEvent.id)).all()
    by_user: dict[str, list[tuple[NotificationDelivery, NotificationEvent]]] = {}
    for d, e in rows:
        by_user.setdefault(d.target, []).append((d, e))
    out = []
    for user in session.execute(select(User).where(User.username.in_(sorted(by_user)))).scalars():
        items = by_user[user.username]
        if not user.email or not user.active:
            for d, _e in items:
                d.status, d.last_error = "skipped", "no e-mail address" if not user.email else "deactivated"
            continue
        out.append(DigestJob(username=user.username, to=user.email, full_name=user.full_name or user.username,
                             locale=user.locale or "en", delivery_ids=[d.id for d, _e in items],
                             events=[_view(e) for _d, e in items]))
    session.flush()
    return out
