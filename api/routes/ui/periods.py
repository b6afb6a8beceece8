"""The periods page: the months with their status, a Close button for finance on an open month that has ended,
the checks of each month's last close, and the cfo's reopening with a reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import _
from api.routes.ui.pages import PosterDep, Viewer, ViewerDep, error_status, page_router, redirect, render
from api.starters import period_close
from domain.accounting.rules import parse_period
from domain.cash import close
from domain.cash.close_rules import CloseReport
from domain.core.errors import DomainError, Forbidden
from domain.core.types import utcnow
from domain.permissions import Action

router = page_router()
PeriodPath = Annotated[str, Path(max_length=20)]


def _may_see(v: Viewer) -> None:
    if not v.user.may(Action.FINANCE_REPORT_READ):
        raise Forbidden("the periods are for finance and the cfo")


async def _page(v: Viewer, *, status: int = 200, **ctx: Any) -> Response:
    _may_see(v)

    def load(s: Session) -> list[dict[str, Any]]:
        out = []
        for p in close.listing(s, utcnow().date()):
            p["report"] = CloseReport.model_validate(p["checks"]) if p["checks"] else None
            out.append(p)
        return out

    return await render(v, "periods.html", status, section="finance", periods=await v.platform.read(load), **ctx)


@router.get("/periods")
async def periods(v: ViewerDep) -> Response:
    return await _page(v)


@router.post("/periods/{period}/close")
async def close_period(period: PeriodPath, v: PosterDep) -> Response:
    try:
        if not v.user.may(Action.PERIOD_CLOSE):
            raise Forbidden("only finance closes a month")
        parse_period(period)
        _started, view = await period_close.start(v.platform, v.user.username, period)
    except DomainError as e:
        return await _page(v, status=error_status(e), error=_("%(period)s was not closed: %(reason)s", period=period[:20], reason=e.message))
    report = CloseReport.model_validate(view["checks"]) if view["checks"] else None
    if report is not None and not report.passed:
        return redirect("/periods", msg=_("The checks of %(period)s failed; the period stays open. See the report below.", period=period))
    return redirect("/periods", msg=_("The checks of %(period)s passed; the cfo is asked to approve the close.", period=period))


@router.post("/periods/{period}/reopen")
async def reopen_period(period: PeriodPath, v: PosterDep,
                        reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        if not v.user.may(Action.PERIOD_REOPEN):
            raise Forbidden("only the cfo reopens a closed month")
        await v.platform.write(lambda s: close.reopen(s, period, v.user.username, reason))
    except DomainError as e:
        return await _page(v, status=error_status(e), error=_("%(period)s was not reopened: %(reason)s", period=period[:20], reason=e.message))
    return redirect("/periods", msg=_("Reopened %(period)s: postings may be dated in it again.", period=period))
