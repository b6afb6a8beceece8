"""Attachments over HTTP, shared by the JSON API (api/routes/attachments.py) and the pages' upload form
(api/routes/ui/attachments.py): receive an upload into the store (streamed in chunks, refused past the size limit
or when its content is not of an accepted type: nothing stored either way), and serve one as a download to who
may see its document (404 otherwise, the same answer as for an unknown id)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response

from api.auth import Principal
from api.platform import Platform
from domain import permissions
from domain.approvals import access
from domain.attachments import services
from domain.attachments.s3 import S3Store
from domain.attachments.storage import LocalStore, root_for
from domain.core.errors import NotFound
from domain.permissions import Action
from settings import Settings

CHUNK = 1 << 16
ENVELOPE = 64 * 1024  # what a multipart body carries besides the file: its boundaries, headers and fields
# The addresses a file may be posted to: the attachments API, the panel's form, and a form request's page (its
# attachment fields: filed new, or resubmitted after a send back).
UPLOADS = re.compile(r"/api/attachments|/attachments/upload|/requests/new/[^/]+|/requests/[^/]+/resubmit")


def store(settings: Settings) -> LocalStore | S3Store:
    """The S3-compatible bucket when one is configured, else the directory (storage.root_for)."""
    if settings.attachments_s3_bucket:
        return S3Store(settings.attachments_s3_endpoint or f"https://s3.{settings.attachments_s3_region}.amazonaws.com",
                       settings.attachments_s3_bucket, region=settings.attachments_s3_region,
                       access_key=settings.attachments_s3_access_key, secret_key=settings.attachments_s3_secret_key,
                       prefix=settings.attachments_s3_prefix)
    return LocalStore(root_for(settings.attachments_dir, settings.database_url))


def body_limit(settings: Settings) -> Callable[[str], int | None]:
    """The request body limit of a POST to `path` when it is an upload address (None: the app's max_body_bytes)."""
    limit = settings.attachment_max_bytes + ENVELOPE

    def of(path: str) -> int | None:
        return limit if UPLOADS.fullmatch(path) else None
    return of


async def visible_document(platform: Platform, user: Principal, document: str) -> str:
    """The document (a business key) when the user may see it; NotFound otherwise (as for one that does not exist)."""
    document = services.check_document(document)
    if not await platform.read(access.may_see_document, user.username, user.roles, document):
        raise NotFound(f"no document {document}")
    return document


async def upload(platform: Platform, settings: Settings, user: Principal, file: UploadFile,
                 document: str | None) -> dict[str, Any]:
    """Attach `file` to `document` (a business key the user may see; none: the user's draft, for a document not
    filed yet). TooLarge (413), Unsupported (415), Invalid (an empty file): nothing stored."""
    permissions.check(user.roles, Action.ATTACHMENT_UPLOAD, "you may not attach files")
    key = await visible_document(platform, user, document.strip() if document and document.strip()
                                 else services.draft_key(user.username))
    receiving = await to_thread.run_sync(store(settings).receive, settings.attachment_max_bytes)
    try:
        while chunk := await file.read(CHUNK):
            receiving.write(chunk)  # TooLarge once past the limit (the temporary file removed)
    except BaseException:
        receiving.discard()
        raise
    filename = file.filename or ""
    stored = await to_thread.run_sync(receiving.keep, filename)

    def record(s: Session) -> dict[str, Any]:
        return services.view(services.add(s, document=key, filename=filename, stored=stored,
                                          uploaded_by=user.username))
    return await platform.write(record)


async def listing(platform: Platform, user: Principal, document: str) -> list[dict[str, Any]]:
    key = await visible_document(platform, user, document)
    return await platform.read(services.for_document, key)


async def download(platform: Platform, settings: Settings, user: Principal, attachment_id: str) -> Response:
    def load(s: Session) -> dict[str, Any]:
        try:
            row = services.get(s, attachment_id)
        except NotFound:
            row = None
        # whoever uploaded a file may read it back (its document's process may not be recorded yet); anyone else
        # only when they may see the document
        if row is None or (row.uploaded_by != user.username
                           and not access.may_see_document(s, user.username, user.roles, row.document)):
            raise NotFound(f"no attachment {attachment_id}")
        return services.view(row)
    a = await platform.read(load)
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(a['filename'], safe='')}",
               "X-Content-Type-Options": "nosniff", "Cache-Control": "private",
               "Content-Security-Policy": "default-src 'none'; sandbox"}
    kept = store(settings)
    if isinstance(kept, S3Store):  # at most attachment_max_bytes: read whole, then sent
        return Response(await to_thread.run_sync(kept.read, a["sha256"]), media_type=a["content_type"],
                        headers=headers)
    path = kept.path_of(a["sha256"])
    if not await to_thread.run_sync(path.is_file):
        raise NotFound(f"the file of attachment {attachment_id} is missing from the store")
    return FileResponse(path, media_type=a["content_type"], headers=headers)
