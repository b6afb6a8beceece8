"""The e-mails' words in the recipient's language: English here, translations from the notifications catalog
(api/locale/<locale>/LC_MESSAGES/notifications.po, read with Babel: the same file the UI merges, so a text is
translated once). Pure functions; the activity that sends the mail calls them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from domain.notifications.services import EventView

CATALOG = Path(__file__).parents[2] / "api" / "locale"

SUBJECTS = {
    "task.assigned": "New task: %(title)s",
    "task.reminder": "Reminder: %(title)s is waiting for you",
    "task.escalated": "Escalated to you: %(title)s",
    "task.urged": "Urged: %(title)s is waiting for your decision",
    "mention": "%(author)s mentioned you on %(document)s",
    "request.decided": "Your request %(document)s was decided",
    "copied": "For your information: %(title)s",
}
OTHER_SUBJECT = "Notification: %(title)s"
# A decided request's title ends in its decision (": approved"); the subject says it in the reader's language.
DECIDED = {"approved": "Your request %(document)s was approved", "rejected": "Your request %(document)s was rejected"}
# A task routed to a deputy: its task.assigned detail starts "standing in for <username>".
DEPUTY_SUBJECT = "New task: %(title)s, standing in for %(name)s"
DEPUTY = re.compile(r"^standing in for ([A-Za-z0-9_][A-Za-z0-9_.-]*)")
QUOTE = 400  # characters of a mentioning comment quoted in its mail
GREETING = "Hello %(name)s,"
OPEN_IT = "Open it: %(link)s"
SIGNATURE = "Valueloop (you can choose at once, a daily digest or none on your settings page)"
DIGEST_SUBJECT = "Your daily digest: %(n)s notifications"
DIGEST_INTRO = "What happened since the last digest:"


@cache
def translations(locale: str) -> Mapping[str, str]:
    """msgid → translation of the notifications catalog of `locale` (empty for English or a missing file)."""
    path = CATALOG / locale / "LC_MESSAGES" / "notifications.po"
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale.replace("_Hans", ""))
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.id, str) and m.string
            and not m.fuzzy}


def tr(locale: str, message: str, **values: object) -> str:
    text = translations(locale).get(message, message) if locale != "en" else message
    return text % values if values else text


def _link(link: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}{link}" if base_url and link.startswith("/") else link


def _line(locale: str, e: EventView) -> str:
    """The event in one line: a title may carry a line break (a form's text value), which a mail header must not
    (the mail could never be sent), so every run of white space is one space."""
    title = e.title or e.document
    message = SUBJECTS.get(e.event, OTHER_SUBJECT)
    values: dict[str, object] = {"title": title, "document": e.document}
    if e.event == "mention":  # the title is the comment's author ("tom on FR-00001" before)
        values["author"] = title.removesuffix(f" on {e.document}") if e.title else "?"
    elif e.event == "request.decided" and (decision := title.rsplit(": ", 1)[-1]) in DECIDED:
        message = DECIDED[decision]
    elif e.event == "task.assigned" and (m := DEPUTY.match(e.detail)):
        message, values["name"] = DEPUTY_SUBJECT, m.group(1)
    return " ".join(tr(locale, message, **values).split())


def _quote(text: str) -> list[str]:
    text = text if len(text) <= QUOTE else text[:QUOTE].rstrip() + " …"
    return ["> " + line if line.strip() else ">" for line in text.splitlines()]


def render(locale: str, name: str, e: EventView, base_url: str = "") -> tuple[str, str]:
    """(subject, plain-text body) of one event's e-mail: the subject its first line, then the detail (a mention's
    comment quoted; a deputy's task says whom it stands in for in the subject, not again)."""
    subject = _line(locale, e)
    lines = [tr(locale, GREETING, name=name), "", subject]
    if e.event == "mention" and e.detail:
        lines += ["", *_quote(e.detail)]
    elif e.detail and not (e.event == "task.assigned" and DEPUTY.match(e.detail) and locale != "en"):
        lines += ["", e.detail]
    if e.link:
        lines += ["", tr(locale, OPEN_IT, link=_link(e.link, base_url))]
    lines += ["", "-- ", tr(locale, SIGNATURE)]
    return subject, "\n".join(lines) + "\n"


def render_digest(locale: str, name: str, events: list[EventView], base_url: str = "") -> tuple[str, str]:
    subject = tr(locale, DIGEST_SUBJECT, n=len(events))
    lines = [tr(locale, GREETING, name=name), "", tr(locale, DIGEST_INTRO), ""]
    for e in events:
        lines.append(f"- {_line(locale, e)}" + (f"  {_link(e.link, base_url)}" if e.link else ""))
        if e.detail:
            lines.append(f"  {e.detail}")
    lines += ["", "-- ", tr(locale, SIGNATURE)]
    return subject, "\n".join(lines) + "\n"
