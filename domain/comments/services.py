"""Comments in SQL: a document's timeline, and the mentions it tells."""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from domain.approvals import access
from domain.comments.tables import MAX_TEXT, Comment
from domain.core.errors import Invalid, NotFound
from domain.notifications import services as notifications
from domain.org.tables import User
from domain.processes.tables import Process

# @username: not inside a word or an e-mail address (erin@example.com mentions nobody); a trailing dot or dash is
# the sentence's, not the name's.
MAX_MENTIONS = 20
MENTION_QUOTE = 400  # of the comment's text, quoted in the mention's mail
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,59})")


def mentions(text: str) -> list[str]:
    """The usernames `@`-mentioned in the text, once each, in order."""
    out: list[str] = []
    for m in MENTION.finditer(text):
        name = m.group(1).rstrip(".-")
        if name and name not in out:
            out.append(name)
    return out


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise Invalid("a comment needs some text")
    if len(text) > MAX_TEXT:
        raise Invalid(f"a comment is at most {MAX_TEXT} characters, this one has {len(text)}")
    return text


# The page that shows a document (and its comments), by its process's kind; other kinds: the process monitor.
PAGES = {"form_request": "/requests/{}", "expense_claim": "/requests/expense-claims/{}",
         "sales_order": "/sales-orders/{}", "production_order": "/production-orders/{}", "lead_to_order": "/leads/{}",
         "quotation": "/quotations/{}"}
_INVOICES = {"INV-": "/invoices/{}", "CN-": "/invoices/{}", "BILL-": "/bills/{}", "DN-": "/bills/{}"}
_BY_NUMBER = {"/purchase-orders/{}": table("purchase_orders", column("number")),
              "/opportunities/{}": table("opportunities", column("number"))}


def page_of(session: Session, document: str) -> str:
    """The link to the page showing `document` and its comments (a purchase order's, a request's, a sales
    order's...); the process monitor for a kind without a page of its own; "" for an unknown document."""
    for page, numbers in _BY_NUMBER.items():
        if session.execute(select(numbers.c.number).where(numbers.c.number == document).limit(1)).first():
            return page.format(document)
    proc = session.execute(select(Process.type, Process.process_id).where(Process.business_key == document)
                           .order_by(Process.started_at).limit(1)).first()
    if proc is None:
        return ""
    if proc.type in PAGES:
        return PAGES[proc.type].format(document)
    if proc.type in ("customer_invoice", "supplier_invoice", "sales_return", "purchase_return"):
        for prefix, page in _INVOICES.items():
            if document.startswith(prefix):
                return page.format(document)
    return f"/processes/{proc.process_id}"


def add(session: Session, author: str, roles: Collection[str], document: str, text: str) -> Comment:
    """A comment on a document the author may see (else NotFound: its existence is no one else's business). Each
    `@username` of an active user who may see the document is told (a `mention`); any other is just text."""
    text = check_text(text)
    if not access.may_see_document(session, author, roles, document):
        raise NotFound(f"no document {document!r} you may see")
    told = []
    names = [n for n in mentions(text) if n != author]
    if len(names) > MAX_MENTIONS:  # a mention storm: hundreds of mails from one comment
        raise Invalid(f"a comment may mention at most {MAX_MENTIONS} people; this one mentions {len(names)}")
    if names:
        users = session.execute(select(User).where(User.username.in_(names), User.active.is_(True))).scalars()
        by_name = {u.username: u for u in users}
        told = [n for n in names if n in by_name
                and access.may_see_document(session, n, by_name[n].roles, document)]
    row = Comment(document=document, author=author, text=text, mentions=told)
    session.add(row)
    session.flush()
    link = page_of(session, document)
    for name in told:
        notifications.emit(session, "mention", key=f"comment-{row.id}-{name}", users=[name], document=document,
                           title=author, detail=text[:MENTION_QUOTE], link=link)
    return row


def for_document(session: Session, document: str, limit: int = 500) -> list[Comment]:
    """A document's comments, oldest first (the caller checked that the reader may see it)."""
    return list(session.execute(select(Comment).where(Comment.document == document)
                                .order_by(Comment.created_at, Comment.id).limit(limit)).scalars())


def visible(session: Session, username: str, roles: Collection[str], document: str) -> list[Comment]:
    if not access.may_see_document(session, username, roles, document):
        raise NotFound(f"no document {document!r} you may see")
    return for_document(session, document)
