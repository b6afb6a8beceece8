"""Saved filters: the caller's named filters of the inbox and of the process monitor, each the list page's query
string. A filter is checked by the rules of the page it belongs to, so only one the page would use is kept;
saving a name again replaces its query."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from api import inbox as inbox_filters
from api import processes as process_filters
from api.deps import CurrentUser, PlatformDep
from api.encoding import ok
from domain.approvals import saved_filters
from domain.core.numbers import PlainInt

router = APIRouter(prefix="/api/saved-filters", tags=["saved filters"])

Page = Literal["inbox", "processes"]
CHECKS: dict[str, saved_filters.Check] = {"inbox": inbox_filters.filter_problems,
                                          "processes": process_filters.filter_problems}


class SavedFilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: Page
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=saved_filters.NAME_MAX)]
    query: str = Field(max_length=2000, description="the list page's URL query string, e.g. kind=approval&overdue=1")


class SavedFilterOut(BaseModel):
    id: int
    page: Page
    name: str
    query: str = Field(description="normalised: sorted, without empty values or paging")
    url: str = Field(description="the list under this filter")
    created_at: datetime


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "url": f"/{row['page']}?{row['query']}"}


@router.get("", response_model=list[SavedFilterOut])
async def list_saved(user: CurrentUser, platform: PlatformDep, page: Annotated[Page | None, Query()] = None) -> Any:
    """The caller's saved filters, of one list or of both, by list and name."""
    return ok([_out(r) for r in await platform.read(saved_filters.list_for, user.username, page)])


@router.post("", status_code=201, response_model=SavedFilterOut, responses={
    422: {"description": "the name or the filter is not valid, or the caller keeps 50 filters for that list"}})
async def save(body: SavedFilterIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """Keep a filter under a name; a name the caller already has for that list gets the new query."""
    row = await platform.write(saved_filters.save, user.username, body.page, body.name, body.query,
                               CHECKS[body.page])
    return ok(_out(row), 201)


@router.delete("/{filter_id}", status_code=204, responses={404: {"description": "no such filter of the caller's"}})
async def delete(filter_id: Annotated[PlainInt, Path(gt=0, le=2**31 - 1)], user: CurrentUser, platform: PlatformDep) -> Response:
    await platform.write(saved_filters.delete, user.username, filter_id)
    return Response(status_code=204)
