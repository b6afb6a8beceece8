"""Attachments: upload a file to a document one may see (or to one's draft), list a document's files, download one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from api import attachments
from api.deps import CurrentUser, PlatformDep, SettingsDep
from api.encoding import ok

router = APIRouter(prefix="/api/attachments", tags=["attachments"])


@router.post("", status_code=201)
async def upload(user: CurrentUser, platform: PlatformDep, settings: SettingsDep, file: Annotated[UploadFile, File()],
                 document: Annotated[str | None, Form(max_length=80)] = None) -> Any:
    """Attach `file` to the document of business key `document` (one the caller may see), or, without one, to the
    caller's draft (joined to the document they file). 413 over the size limit, 415 for a type not accepted (judged
    by the content, never the name); nothing is stored then."""
    a = await attachments.upload(platform, settings, user, file, document)
    return ok({k: a[k] for k in ("attachment_id", "filename", "size", "sha256", "content_type", "document")}, 201)


@router.get("")
async def list_attachments(user: CurrentUser, platform: PlatformDep,
                           document: Annotated[str, Query(min_length=1, max_length=80)]) -> Any:
    return ok(await attachments.listing(platform, user, document))


@router.get("/{attachment_id}", response_class=Response)
async def download(attachment_id: str, user: CurrentUser, platform: PlatformDep, settings: SettingsDep) -> Any:
    """The file, as a download, for whoever may see its document (404 otherwise, as for an unknown id)."""
    return await attachments.download(platform, settings, user, attachment_id)
