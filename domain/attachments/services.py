"""Attachments of documents: recorded once their bytes are kept (storage), listed per document, and a
requester's draft uploads joined to the document they file. Who may see a document is
domain.approvals.access.may_see_document's answer, asked by the callers (the API, the pages)."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.attachments.storage import Stored
from domain.attachments.tables import Attachment
from domain.core.errors import Invalid, NotFound

DRAFT = "draft:"
MAX_FILENAME = 200
MAX_DOCUMENT = 80


def draft_key(username: str) -> str:
    """The document a user's uploads belong to before the document they are for exists."""
    return f"{DRAFT}{username}"


def clean_filename(name: str) -> str:
    """The name a file is listed and downloaded under: no directories, no control characters, at most 200
    characters (the extension kept); "attachment" when nothing is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in name)
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot and stem else ""
        name = (name[:MAX_FILENAME - len(ext) - 1].rstrip() + "." + ext) if ext else name[:MAX_FILENAME]
    return name or "attachment"


def check_document(document: str) -> str:
    document = document.strip()
    if not document or len(document) > MAX_DOCUMENT or any(unicodedata.category(c) == "Cc" for c in document):
        raise Invalid("document must be the business key of a document (e.g. EC-00017)")
    return document


def add(s: Session, *, document: str, filename: str, stored: Stored, uploaded_by: str) -> Attachment:
    row = Attachment(id=str(uuid.uuid4()), document=check_document(document), filename=clean_filename(filename),
                     size=stored.size, sha256=stored.sha256, content_type=stored.content_type,
                     uploaded_by=uploaded_by)
    s.add(row)
    s.flush()
    return row


def get(s: Session, attachment_id: str) -> Attachment:
    row = s.get(Attachment, attachment_id) if len(attachment_id) <= 36 else None
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    return row


def view(row: Attachment) -> dict[str, Any]:
    return {"attachment_id": row.id, "document": row.document, "filename": row.filename, "size": row.size,
            "sha256": row.sha256, "content_type": row.content_type, "uploaded_by": row.uploaded_by,
            "created_at": row.created_at, "url": f"/api/attachments/{row.id}"}


def for_document(s: Session, key: str) -> list[dict[str, Any]]:
    """The attachments of document `key`, oldest first (the caller has checked that the reader may see it)."""
    rows = s.execute(select(Attachment).where(Attachment.document == key)
                     .order_by(Attachment.created_at, Attachment.id)).scalars()
    return [view(r) for r in rows]


def link(s: Session, ids: Iterable[str], document: str, owner: str) -> None:
    """Join `owner`'s draft uploads `ids` to the document they filed. Invalid, naming it, when an id is not one
    of owner's drafts; an id already joined to `document` is left as it is (a retried activity)."""
    document = check_document(document)
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return
    rows = {r.id: r for r in s.execute(select(Attachment).where(Attachment.id.in_(wanted))).scalars()}
    for attachment_id in wanted:
        row = rows.get(attachment_id)
        if row is None or row.document not in (draft_key(owner), document):
            raise Invalid(f"attachment {attachment_id} is not a file {owner} uploaded for a new document")
    for row in rows.values():
        row.document = document
    s.flush()


def drafts(s: Session, owner: str) -> list[dict[str, Any]]:
    """What `owner` uploaded for a document not filed yet."""
    return for_document(s, draft_key(owner))
