"""Production master data: bills of materials and work centres, and BOMs as CSV files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import PlatformDep, require
from api.encoding import ok
from api.routes.common import Limit, Offset
from domain.core.errors import Invalid
from domain.manufacturing import boms
from domain.manufacturing.rules import BomIn, WorkCentreIn
from domain.parties import imports
from domain.permissions import Action

router = APIRouter(prefix="/api", tags=["production master data"])

Reader = Annotated[Principal, Depends(require(Action.BOM_READ))]
Owner = Annotated[Principal, Depends(require(Action.BOM_EDIT))]
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")


async def csv_text(request: Request) -> str:
    """The request body as CSV text (UTF-8, an Excel byte-order mark allowed)."""
    ctype = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if ctype not in CSV_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send the file as text/csv, not {ctype}")
    try:
        return (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise Invalid(f"the file is not UTF-8 text (byte {e.start} cannot be read)") from None


class CsvResponse(Response):
    """A CSV download; as a route's response_class it makes the schema say text/csv, not JSON."""

    media_type = "text/csv"
    charset = "utf-8"


def csv_file(text: str, name: str) -> Response:
    return CsvResponse(text, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/boms")
async def list_boms(user: Reader, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    return ok(await platform.read(lambda s: boms.views(s, limit, offset)))


@router.get("/boms.csv", response_class=CsvResponse)
async def export_boms(user: Reader, platform: PlatformDep) -> Response:
    return csv_file(await platform.read(imports.export_boms), "boms.csv")


@router.post("/boms.csv")
async def import_boms(user: Owner, platform: PlatformDep, text: Annotated[str, Depends(csv_text)]) -> Any:
    return ok(await platform.write(lambda s: imports.import_boms(s, text)))


@router.get("/boms/{sku}")
async def get_bom(sku: str, user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: boms.view(s, sku)))


@router.post("/boms", status_code=201, responses={200: {"description": "the item's BOM was replaced"}})
async def save_bom(body: BomIn, user: Owner, platform: PlatformDep) -> Any:
    """Creates the item's BOM (201), or replaces the one it has (200, `revision` counts up)."""
    def save(s: Session) -> tuple[boms.Saved, dict[str, Any]]:
        return boms.save_bom(s, body), boms.view(s, body.item_sku)
    saved, view = await platform.write(save)
    return ok({**view, "replaced": not saved.created}, 201 if saved.created else 200)


@router.get("/work-centres")
async def list_work_centres(user: Reader, platform: PlatformDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    return ok(await platform.read(lambda s: boms.work_centres(s, limit, offset)))


@router.post("/work-centres", status_code=201)
async def create_work_centre(body: WorkCentreIn, user: Owner, platform: PlatformDep) -> Any:
    return ok(await platform.write(lambda s: boms.work_centre_view(boms.create_work_centre(s, body))), 201)
