"""Sales forecasts over HTTP (make to stock): per item and month, entered, changed, removed, and as CSV files.
Whoever reads production reads them (each with what actual orders of its month used up and what is left for
MRP); planners change them. MRP runs over all open orders plan what is left (domain.planning.forecasts)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from starlette.responses import Response

from api.auth import Principal
from api.deps import PlatformDep, require
from api.encoding import ok
from api.routes.boms import CsvResponse, csv_file, csv_text
from api.routes.common import Offset
from api.schemas import Body
from domain.core.limits import MAX_QTY
from domain.core.money import MAX_ID
from domain.core.numbers import PlainDecimal, PlainInt
from domain.permissions import Action
from domain.planning import forecasts
from domain.planning.forecast_rules import parse_month

router = APIRouter(prefix="/api/planning", tags=["forecasts"])
Reader = Annotated[Principal, Depends(require(Action.PRODUCTION_READ))]
Editor = Annotated[Principal, Depends(require(Action.FORECAST_EDIT))]
ForecastId = Annotated[PlainInt, Path(ge=1, le=MAX_ID)]
Month = Annotated[str | None, Query(max_length=20, description="a month: 2027-01", alias="from")]
MonthTo = Annotated[str | None, Query(max_length=20, description="a month: 2027-06", alias="to")]


def _today() -> date:
    return datetime.now(UTC).date()


class ForecastIn(Body):
    sku: str = Field(min_length=1, max_length=60)
    month: str = Field(min_length=1, max_length=20, description="the month: 2027-01 (or its first day, 2027-01-01)")
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)


class ForecastChange(Body):
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)


@router.get("/forecasts")
async def list_forecasts(user: Reader, platform: PlatformDep, month_from: Month = None, month_to: MonthTo = None,
                         sku: Annotated[str | None, Query(max_length=60)] = None,
                         limit: Annotated[PlainInt, Query(ge=1, le=5000)] = 500, offset: Offset = 0) -> Any:
    """Forecasts by month, then SKU (`from`, `to`: months, both included), each with `ordered` (what sales orders
    of its month ask for) and `remaining` (what MRP plans: forecast − ordered, never below zero)."""
    lo = parse_month(month_from, "from") if month_from else None
    hi = parse_month(month_to, "to") if month_to else None
    return ok(await platform.read(lambda s: forecasts.views(s, _today(), sku=sku, month_from=lo, month_to=hi,
                                                            limit=limit, offset=offset)))


@router.post("/forecasts", status_code=201)
async def create_forecast(body: ForecastIn, user: Editor, platform: PlatformDep) -> Any:
    """A forecast of an item for a month (this month or a later one); one for the same item and month already
    there → 409 (change that one with PUT)."""
    today = _today()

    def write(s: Any) -> Any:
        row = forecasts.create(s, sku=body.sku, month=body.month, qty=body.qty, actor=user.username, today=today)
        return forecasts.view(s, row.id, today)
    return ok(await platform.write(write), 201)


@router.get("/forecasts/{forecast_id}")
async def get_forecast(forecast_id: ForecastId, user: Reader, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: forecasts.view(s, forecast_id, _today())))


@router.put("/forecasts/{forecast_id}")
async def change_forecast(forecast_id: ForecastId, body: ForecastChange, user: Editor, platform: PlatformDep) -> Any:
    today = _today()

    def write(s: Any) -> Any:
        forecasts.update(s, forecast_id, qty=body.qty, actor=user.username, today=today)
        return forecasts.view(s, forecast_id, today)
    return ok(await platform.write(write))


@router.delete("/forecasts/{forecast_id}", status_code=204, responses={404: {"description": "no such forecast"}})
async def delete_forecast(forecast_id: ForecastId, user: Editor, platform: PlatformDep) -> Response:
    today = _today()
    await platform.write(lambda s: forecasts.remove(s, forecast_id, today))
    return Response(status_code=204)


@router.get("/forecasts.csv", response_class=CsvResponse)
async def export_forecasts(user: Reader, platform: PlatformDep) -> Response:
    """Forecasts of this month on, as a CSV file (sku, month, qty): what the import takes."""
    since = _today().replace(day=1)
    return csv_file(await platform.read(lambda s: forecasts.export_csv(s, since)), "forecasts.csv")


@router.post("/forecasts.csv")
async def import_forecasts(user: Editor, platform: PlatformDep, text: Annotated[str, Depends(csv_text)]) -> Any:
    """A CSV file (sku, month, qty): each row sets that item's forecast for the month (qty 0 removes it); all rows
    or none, the first bad row refused naming its line. Answers how many rows and forecasts created, updated,
    deleted."""
    today = _today()
    return ok(await platform.write(lambda s: forecasts.import_csv(s, text, actor=user.username, today=today)))
