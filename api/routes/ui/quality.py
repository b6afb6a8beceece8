"""The quality pages: inspection lots (the list; one lot with the inspection form for who may inspect), the
nonconformance records, and the item page's inspection settings. The result goes to the lot's process through
api.starters.inspection, as the JSON API sends it; a refusal shows the page again with the reason, nothing
stored."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Form, Query
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _, gettext
from api.routes.ui.crm import form_errors
from api.routes.ui.pages import (
    ENV,
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
)
from api.starters import inspection
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.money import qty_str
from domain.core.numbers import read_number
from domain.inventory import quarantine
from domain.permissions import Action
from domain.quality import rules
from domain.quality import services as quality

router = page_router()
ENV.globals.setdefault("SCRAP_REASONS", rules.SCRAP_REASONS)  # the progress form's scrap reasons
FIELDS = {"accepted_qty": "the accepted quantity", "rejected_qty": "the rejected quantity", "reason": "the reason",
          "note": "the note"}


def _reasons() -> dict[str, str]:
    return {code: gettext(text) for code, text in rules.REASONS.items()}


def _check_read(v: Viewer) -> None:
    if not v.user.may(Action.QUALITY_READ):
        raise Forbidden("inspections are read by the warehouse, buyers, planners, finance and admin")


@router.get("/quality/inspections")
async def lots_page(v: ViewerDep, status: Annotated[str, Query(max_length=20)] = "") -> Response:
    try:
        _check_read(v)
    except DomainError as e:
        return await not_possible(v, e)
    rows = await v.platform.read(quality.lots, status or None, 200, 0)
    return await render(v, "quality_lots.html", section="quality", lots=rows, status_filter=status)


async def _lot(v: Viewer, number: str, status: int = 200, **ctx: Any) -> Response:
    try:
        _check_read(v)
        lot = await v.platform.read(lambda s: quality.lot_view(s, quarantine.lot(s, number[:30])))
    except DomainError as e:
        return await not_possible(v, e)
    return await render(v, "quality_lot.html", status, section="quality", lot=lot, reasons=_reasons(), **ctx)


@router.get("/quality/inspections/{number}")
async def lot_page(number: str, v: ViewerDep) -> Response:
    return await _lot(v, number)


@router.post("/quality/inspections/{number}")
async def record_page(number: str, v: PosterDep, accepted_qty: Annotated[str, Form(max_length=40)] = "",
                      rejected_qty: Annotated[str, Form(max_length=40)] = "",
                      reason: Annotated[str, Form(max_length=40)] = "",
                      note: Annotated[str, Form(max_length=500)] = "") -> Response:
    form = {"accepted_qty": accepted_qty, "rejected_qty": rejected_qty, "reason": reason, "note": note}
    try:
        accepted = read_number(accepted_qty, FIELDS["accepted_qty"])
        if accepted is None:
            raise Invalid("enter the accepted quantity (0 when nothing is accepted)")
        rejected = read_number(rejected_qty, FIELDS["rejected_qty"]) or Decimal(0)
        try:
            body = rules.InspectionIn(accepted_qty=accepted, rejected_qty=rejected, reason=reason.strip(),
                                      note=note.strip())
        except ValidationError as e:
            raise Invalid(form_errors(e, FIELDS)) from None
        outcome = await inspection.record(v.platform, as_actor(v.user), number[:30], body)
    except DomainError as e:
        return await _lot(v, number, error_status(e), form=form,
                          error=_("The inspection was not recorded; nothing was changed. %(reason)s",
                                  reason=e.message[:1].upper() + e.message[1:]))
    if outcome.ncr:
        msg = _("Lot %(lot)s is inspected: %(accepted)s accepted into stock, %(rejected)s rejected on "
                "%(ncr)s and going back to the supplier.", lot=outcome.lot, accepted=qty_str(outcome.accepted_qty),
                rejected=qty_str(outcome.rejected_qty), ncr=outcome.ncr)
    else:
        msg = _("Lot %(lot)s is inspected: %(accepted)s accepted into stock.", lot=outcome.lot,
                accepted=qty_str(outcome.accepted_qty))
    return redirect(f"/quality/inspections/{number}", msg=msg)


@router.get("/quality/nonconformances")
async def ncrs_page(v: ViewerDep) -> Response:
    try:
        _check_read(v)
    except DomainError as e:
        return await not_possible(v, e)
    rows = await v.platform.read(quality.nonconformances, 200, 0)
    return await render(v, "quality_ncrs.html", section="quality", ncrs=rows, reasons=_reasons())


@router.get("/quality/nonconformances/{number}")
async def ncr_page(number: str, v: ViewerDep) -> Response:
    try:
        _check_read(v)
        ncr = await v.platform.read(quality.nonconformance, number[:30])
    except DomainError as e:
        return await not_possible(v, e)
    return await render(v, "quality_ncr.html", section="quality", ncr=ncr, reasons=_reasons())


@router.post("/quality/items/{sku:path}/inspection")
async def flags_page(sku: str, v: PosterDep, incoming: Annotated[str, Form(max_length=5)] = "",
                     final: Annotated[str, Form(max_length=5)] = "") -> Response:
    try:
        if not v.user.may(Action.ITEM_EDIT):
            raise Forbidden("items are changed by buyers, planners and admin")

        def change(s: Session) -> dict[str, Any]:
            return quality.set_flags(s, sku[:60], incoming=bool(incoming), final=bool(final), actor=v.user.username)
        await v.platform.write(change)
    except DomainError as e:
        return await not_possible(v, e)
    return redirect(f"/items/{sku}", msg=_("The inspection settings of %(sku)s are saved.", sku=sku))
