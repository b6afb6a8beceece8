"""Supplier bill pages: the list, entering a bill against a received purchase order (its lines prefilled from
what was received and not yet billed; "Check the match" shows the three-way match without storing anything,
"Enter the bill" starts its process), and one bill with its match, its process and its order. Who may enter a
bill and who sees one is the JSON API's rule (domain.cash.bills, api/starters/supplier_invoice.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import as_actor
from api.i18n import _, money
from api.routes.ui.attachments import panel
from api.routes.ui.notifications import timeline
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
)
from api.starters import purchase_return, supplier_invoice
from domain import permissions
from domain.cash import bills, purchase_returns
from domain.cash import purchase_return_services as credits
from domain.cash.rules import BillLineIn, InvoiceKind, Match
from domain.cash.tables import Invoice
from domain.core.errors import DomainError, Invalid
from domain.core.numbers import read_number
from domain.parties.tables import Supplier
from domain.permissions import Action
from domain.purchasing.tables import PurchaseOrder

router = page_router()
LIST_SIZE = 100
ORDERS_SCANNED = 300  # the latest orders looked at for goods received and not yet billed


def _sees_all(v: Viewer) -> bool:
    roles = set(v.user.roles)
    return any(permissions.may(roles, a) for a in (Action.INVOICE_SEE_ALL, Action.SUPPLIER_INVOICE_ENTER,
                                                  Action.PURCHASE_SEE_ALL))


@router.get("/bills")
async def bills_page(v: ViewerDep) -> Response:
    me = v.user.username

    def load(s: Session) -> list[dict[str, Any]]:
        q = select(Invoice).where(Invoice.kind == InvoiceKind.SUPPLIER)
        if not _sees_all(v):
            q = q.where((Invoice.owner == me) | (Invoice.created_by == me))
        return [{"number": b.number, "supplier": b.party_name, "supplier_ref": b.supplier_ref,
                 "purchase_order_id": b.purchase_order_number, "issued_on": b.issued_on, "due_on": b.due_on,
                 "total": b.total, "outstanding": b.outstanding, "currency": b.currency, "status": b.status,
                 "matched": bool(b.match and b.match.get("matched")), "has_match": b.match is not None,
                 "credit_note": b.credit_note, "against": b.against_number}
                for b in s.execute(q.order_by(Invoice.id.desc()).limit(LIST_SIZE)).scalars()]

    return await render(v, "bills.html", section="finance", rows=await v.platform.read(load))


def _orders_to_bill(s: Session) -> list[dict[str, Any]]:
    """Recent purchase orders with goods received and not yet billed."""
    out = []
    for po in s.execute(select(PurchaseOrder).order_by(PurchaseOrder.id.desc()).limit(ORDERS_SCANNED)).scalars():
        if any(ln["unbilled_qty"] > 0 for ln in bills.to_bill(s, po)):
            sup = s.get(Supplier, po.supplier_id)
            out.append({"number": po.number, "supplier": sup.name if sup else ""})
    return out


async def _form(v: Viewer, po_ref: str, *, status: int = 200, typed: dict[str, Any] | None = None,
                preview: dict[str, Any] | None = None, error: str = "") -> Response:
    def load(s: Session) -> dict[str, Any]:
        ctx: dict[str, Any] = {"orders": _orders_to_bill(s), "po": None}
        if po_ref:
            po = bills.find_order(s, po_ref)
            sup = s.get(Supplier, po.supplier_id)
            ctx["po"] = {"number": po.number, "supplier_id": po.supplier_id, "supplier": sup.name if sup else "",
                         "currency": sup.currency if sup else "", "terms": sup.payment_terms_days if sup else None,
                         "lines": bills.to_bill(s, po)}
        return ctx

    ctx = await v.platform.read(load)
    return await render(v, "bill_new.html", status, section="finance", typed=typed or {}, preview=preview,
                        error=error, today=date.today().isoformat(),
                        may_enter=permissions.may(v.user.roles, Action.SUPPLIER_INVOICE_ENTER), **ctx)


@router.get("/bills/new")
async def new_bill(v: ViewerDep, purchase_order_id: str = "") -> Response:
    try:
        return await _form(v, purchase_order_id.strip()[:30])
    except DomainError as e:
        return await not_possible(v, e)


def _read_form(form: Any) -> tuple[bills.BillIn, dict[str, Any]]:
    """The bill typed in the form (numbers as a person types them), or Invalid with a sentence."""
    typed = {k: str(form.get(k, ""))[:200] for k in form}
    skus = [typed[k] for k in sorted(typed) if k.startswith("sku_")]
    lines = []
    for i in sorted(int(k[4:]) for k in typed if k.startswith("sku_") and k[4:].isdigit()):
        sku = typed.get(f"sku_{i}", "")
        qty = read_number(typed.get(f"qty_{i}", ""), f"the quantity of {sku}")
        price = read_number(typed.get(f"price_{i}", ""), f"the price of {sku}")
        if qty is None or qty == 0:
            continue  # a line left empty is not billed
        if price is None:
            raise Invalid(f"give the billed price of {sku}")
        lines.append(BillLineIn(sku=sku, qty=qty, unit_price=price))
    if not lines:
        raise Invalid("bill at least one line: give its quantity" if skus else "choose a purchase order first")
    try:
        issued = date.fromisoformat(typed.get("issued_on", ""))
    except ValueError:
        raise Invalid("give the bill's date as YYYY-MM-DD") from None
    supplier = typed.get("supplier_id", "")
    if not supplier.isdigit() or not typed.get("purchase_order_id"):
        raise Invalid("choose a purchase order first")
    if not typed.get("supplier_ref", "").strip():
        raise Invalid("give the supplier's own number of the bill")
    return bills.BillIn(supplier_id=int(supplier), purchase_order_id=typed["purchase_order_id"],
                        supplier_ref=typed["supplier_ref"].strip(), issued_on=issued, lines=lines,
                        currency=(typed.get("currency") or "").strip().upper() or None), typed


@router.post("/bills/new")
async def enter_bill(request: Request, v: PosterDep) -> Response:
    form = await request.form()
    po_ref = str(form.get("purchase_order_id", ""))[:30]
    typed = {k: str(form.get(k, ""))[:200] for k in form}
    try:
        bill, typed = _read_form(form)
    except ValidationError as e:
        return await _form(v, po_ref, status=422, typed=typed, error="; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()[:3]))
    except DomainError as e:
        return await _form(v, po_ref, status=error_status(e), typed=typed, error=e.message)
    try:
        if form.get("action") == "preview":
            out = await supplier_invoice.preview(v.platform, as_actor(v.user), bill)
            return await _form(v, po_ref, typed=typed, preview=out)
        done, created = await supplier_invoice.enter(v.platform, as_actor(v.user), bill)
    except DomainError as e:
        return await _form(v, po_ref, status=error_status(e), typed=typed,
                           error=_("The bill was not entered: %(reason)s", reason=e.message))
    if not created:
        msg = _("%(ref)s was entered before, as %(number)s.", ref=bill.supplier_ref, number=done["number"])
    elif done["match"] == "matched":
        msg = _("Bill %(number)s matched: it is approved for payment.", number=done["number"])
    else:
        msg = _("Bill %(number)s does not match: the buyer, then finance, decide.", number=done["number"])
    return redirect(f"/bills/{done['number']}", msg=msg)


@router.get("/bills/{ref}")
async def bill_page(ref: str, v: ViewerDep) -> Response:
    try:
        return await _bill(v, ref)
    except DomainError as e:
        return await not_possible(v, e)


async def _bill(v: Viewer, ref: str, *, status: int = 200, msg: str = "", error: str = "",
                typed: dict[str, Any] | None = None) -> Response:
    def load(s: Session) -> dict[str, Any]:
        inv = bills.visible(s, v.user.username, set(v.user.roles), ref[:30])
        view = bills.view(s, inv)
        match = Match.model_validate(inv.match) if inv.match else None
        shown = {**view, "matched": bool(match and match.matched), "has_match": match is not None,
                 "reasons": match.reasons if match else [],
                 "lines": [m.model_dump() for m in match.lines] if match else [],
                 "billed": match.billed if match else inv.total, "expected": match.expected if match else None,
                 "variance": match.variance if match else Decimal(0), "doc_lines": view["lines"],
                 "return_goods": credits.returned_goods(inv)}
        return {"bill": shown, "credit_notes": credits.credit_notes_of(s, inv.number),
                "to_credit": [] if inv.credit_note else credits.credit_form(s, inv)}

    data = await v.platform.read(load)
    bill = data["bill"]
    may_pay = (v.user.may(Action.PAYMENT_RECORD) and bill["status"] == "open" and bill["outstanding"] > 0)
    links_invoice = v.user.may(Action.INVOICE_SEE_ALL) or bill["owner"] == v.user.username
    may_credit = (v.user.may(Action.SUPPLIER_INVOICE_ENTER) and not bill["credit_note"]
                  and bill["status"] in purchase_returns.POSTED and any(ln["left_qty"] > 0 for ln in data["to_credit"]))
    return await render(v, "bill.html", status, section="finance", may_pay=may_pay,
                        links_invoice=links_invoice, may_credit=may_credit, error=error, typed=typed or {},
                        today=date.today().isoformat(),
                        attachments=await panel(v, bill["number"], f"/bills/{bill['number']}"),
                        discussion=await timeline(v, bill["number"], f"/bills/{bill['number']}"), **data)


def _read_credit_form(form: Any) -> purchase_returns.CreditNoteIn:
    """The credit note typed in the bill's form (numbers as a person types them), or Invalid with a sentence."""
    typed = {k: str(form.get(k, ""))[:500] for k in form}
    lines = []
    for i in sorted(int(k[4:]) for k in typed if k.startswith("sku_") and k[4:].isdigit()):
        sku = typed.get(f"sku_{i}", "")
        qty = read_number(typed.get(f"qty_{i}", ""), f"the quantity of {sku}")
        price = read_number(typed.get(f"price_{i}", ""), f"the price of {sku}")
        if qty is None or qty == 0:
            continue  # a line left empty is not credited
        if price is None:
            raise Invalid(f"give the price {sku} is credited at")
        lines.append(purchase_returns.CreditLineIn(sku=sku, qty=qty, unit_price=price))
    if not lines:
        raise Invalid("credit at least one line: give its quantity")
    try:
        issued = date.fromisoformat(typed.get("issued_on", ""))
    except ValueError:
        raise Invalid("give the credit note's date as YYYY-MM-DD") from None
    if not typed.get("supplier_ref", "").strip():
        raise Invalid("give the supplier's own number of the credit note")
    if not typed.get("reason", "").strip():
        raise Invalid("give a reason: why the supplier credits the bill")
    return purchase_returns.CreditNoteIn(supplier_ref=typed["supplier_ref"].strip()[:60], issued_on=issued,
                                         reason=typed["reason"].strip(), lines=lines,
                                         return_goods=typed.get("return_goods") in ("1", "on", "true"))


@router.post("/bills/{ref}/credit-note")
async def enter_credit_note(ref: str, request: Request, v: PosterDep) -> Response:
    """The bill's credit note form: a supplier's credit note, goods sent back or a price correction."""
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:500] for k in form}
    try:
        body = _read_credit_form(form)
        done = await purchase_return.record(v.platform, as_actor(v.user), ref[:30], body)
    except ValidationError as e:
        return await _bill(v, ref, status=422, typed=typed, error=_("The credit note was not entered: %(reason)s", reason="; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()[:3])))
    except DomainError as e:
        return await _bill(v, ref, status=error_status(e), typed=typed,
                           error=_("The credit note was not entered: %(reason)s", reason=e.message))
    if done.existing:
        msg = _("%(ref)s was entered before, as %(number)s.", ref=body.supplier_ref, number=done.invoice_id)
    else:
        facts = {"number": done.invoice_id, "amount": money(-done.total), "currency": done.currency,
                 "against": done.against, "left": money(-done.outstanding)}
        if done.return_goods:
            msg = (_("Credit note %(number)s of %(amount)s %(currency)s against %(against)s: the goods go back to the "
                     "supplier; %(left)s %(currency)s is left as the supplier's credit.", **facts)
                   if done.outstanding < 0 else
                   _("Credit note %(number)s of %(amount)s %(currency)s against %(against)s: the goods go back to the "
                     "supplier.", **facts))
        else:
            msg = (_("Credit note %(number)s of %(amount)s %(currency)s against %(against)s: a price correction; "
                     "%(left)s %(currency)s is left as the supplier's credit.", **facts)
                   if done.outstanding < 0 else
                   _("Credit note %(number)s of %(amount)s %(currency)s against %(against)s: a price correction.",
                     **facts))
    return redirect(f"/bills/{done.against or ref}", msg=msg)
