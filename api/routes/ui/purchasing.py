"""The buyer's workspace: a purchase requisition form (its lines, a justification; it starts the Purchase process
through the same starter as POST /api/purchase-requisitions), the purchase orders (a status filter, paging), one
purchase order (its lines and what was received, its receipts, its requisition and approval trail, its supplier bills)
and the printed purchase order. Who sees what is the JSON API's rule (domain.purchasing.access)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import documents, pdf
from api.i18n import _
from api.routes.common import Offset
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
from api.starters import purchase
from domain.core.errors import DomainError, Invalid
from domain.core.numbers import read_number
from domain.inventory.tables import Item
from domain.parties.tables import Supplier
from domain.permissions import Action
from domain.purchasing import access as purchase_access
from domain.purchasing.rules import OPEN_ORDER_STATUSES, PurchaseOrderStatus, RequisitionLineIn
from domain.purchasing.tables import PurchaseOrder, PurchaseRequisition

router = page_router()
PAGE_SIZE = 50
FORM_LINES = 5  # empty lines of a new requisition form
PO_STATUSES = [str(s) for s in PurchaseOrderStatus]


def _who(v: Viewer) -> documents.Viewer:
    return v.user.username, v.user.roles


def orders_query(v: Viewer, statuses: list[str] | None = None) -> Any:
    """The purchase orders `v` may see, newest first (optionally of some statuses), with their supplier's name."""
    q = select(PurchaseOrder, Supplier.name).outerjoin(Supplier, Supplier.id == PurchaseOrder.supplier_id)
    if (visible := purchase_access.purchases_visible_to(v.user.username, v.user.roles)) is not None:
        q = q.where(PurchaseOrder.requisition_number.in_(select(PurchaseRequisition.number).where(visible)))
    if statuses:
        q = q.where(PurchaseOrder.status.in_(statuses))
    return q.order_by(PurchaseOrder.id.desc())


def order_row(po: PurchaseOrder, supplier: str | None) -> dict[str, Any]:
    return {"number": po.number, "status": po.status, "supplier": supplier or "", "total": po.total,
            "expected_date": po.expected_date, "requisition": po.requisition_number, "created_at": po.created_at}


# --- the workspace and the requisition form ----------------------------------------------------------

async def _workspace(v: Viewer, *, status: int = 200, typed: dict[str, str] | None = None, error: str = "") -> Response:
    me = v.user.username

    def load(s: Session) -> dict[str, Any]:
        reqs = select(PurchaseRequisition)
        if (visible := purchase_access.purchases_visible_to(me, v.user.roles)) is not None:
            reqs = reqs.where(visible)
        return {
            "requisitions": [{"number": r.number, "requester": r.requester, "status": r.status, "total": r.total,
                              "process_id": r.process_id, "created_at": r.created_at}
                             for r in s.execute(reqs.order_by(PurchaseRequisition.id.desc()).limit(10)).scalars()],
            "open_orders": [order_row(po, name) for po, name in
                            s.execute(orders_query(v, [str(x) for x in OPEN_ORDER_STATUSES]).limit(10))],
            "items": [{"sku": sku, "name": name, "cost": cost} for sku, name, cost in s.execute(
                select(Item.sku, Item.name, Item.standard_cost).where(Item.active.is_(True)).order_by(Item.sku)
                .limit(1000))],
            "suppliers": [{"id": i, "name": n} for i, n in s.execute(
                select(Supplier.id, Supplier.name).where(Supplier.active.is_(True)).order_by(Supplier.name).limit(500))],
        }

    data = await v.platform.read(load)
    return await render(v, "purchase_workspace.html", status, section="purchasing", typed=typed or {}, error=error,
                        form_lines=FORM_LINES, **data)


@router.get("/purchasing")
async def workspace(v: ViewerDep) -> Response:
    return await _workspace(v)


def read_requisition(typed: dict[str, str]) -> tuple[list[RequisitionLineIn], str, int | None]:
    """The requisition typed in the form (numbers as people type them), or Invalid with a sentence."""
    lines = []
    for i in range(FORM_LINES):
        sku = typed.get(f"sku_{i}", "").strip()
        qty_text, price_text = typed.get(f"qty_{i}", ""), typed.get(f"price_{i}", "")
        if not sku and not qty_text.strip() and not price_text.strip():
            continue  # a line left empty
        if not sku:
            raise Invalid(_("line %(n)s has a quantity or a price but no item: give its SKU", n=i + 1))
        qty = read_number(qty_text, _("the quantity of %(sku)s", sku=sku))
        price = read_number(price_text, _("the estimated price of %(sku)s", sku=sku))
        if qty is None or qty <= 0:
            raise Invalid(_("give a quantity above zero for %(sku)s", sku=sku))
        if price is None or price < 0:
            raise Invalid(_("give the estimated unit price of %(sku)s (zero or more)", sku=sku))
        try:
            lines.append(RequisitionLineIn(sku=sku, qty=qty, est_unit_price=price))
        except ValidationError as e:
            raise Invalid(_("line %(n)s: %(problem)s", n=i + 1, problem=e.errors()[0]["msg"])) from None
    if not lines:
        raise Invalid(_("a requisition needs at least one line: an item, its quantity and its estimated price"))
    supplier = typed.get("supplier_id", "").strip()
    if supplier and not (supplier.isascii() and supplier.isdigit()):
        raise Invalid(_("choose the supplier from the list"))
    return lines, typed.get("justification", "").strip()[:2000], int(supplier) if supplier else None


@router.post("/purchasing/requisitions")
async def submit_requisition(request: Request, v: PosterDep) -> Response:
    form = await request.form()
    typed = {k: str(form.get(k, ""))[:2000] for k in form if k not in ("csrf", "form_token")}
    try:
        lines, justification, supplier_id = read_requisition(typed)
        out = await purchase.submit(v.platform, v.user.username, lines, justification, supplier_id)
    except DomainError as e:
        return await _workspace(v, status=error_status(e), typed=typed,
                                error=_("The requisition was not submitted: %(reason)s", reason=e.message))
    return redirect(f"/processes/{out['process_id']}",
                    msg=_("Requisition %(n)s is submitted for approval.", n=out["requisition_id"]))


# --- purchase orders ---------------------------------------------------------------------------------

@router.get("/purchase-orders")
async def purchase_orders(v: ViewerDep, status: Annotated[str, Query(max_length=30)] = "",
                          offset: Offset = 0) -> Response:
    if status and status not in PO_STATUSES:
        return await not_possible(v, Invalid(_("there is no purchase order status \u201c%(s)s\u201d", s=status[:30])))
    q = orders_query(v, [status] if status else None).limit(PAGE_SIZE + 1).offset(offset)
    rows = await v.platform.read(lambda s: [order_row(po, name) for po, name in s.execute(q)])
    more = len(rows) > PAGE_SIZE
    base = f"/purchase-orders?status={status}&" if status else "/purchase-orders?"
    return await render(v, "purchase_orders.html", section="purchasing", orders=rows[:PAGE_SIZE],
                        statuses=PO_STATUSES, status_filter=status, offset=offset,
                        newer=f"{base}offset={max(offset - PAGE_SIZE, 0)}" if offset else "",
                        older=f"{base}offset={offset + PAGE_SIZE}" if more else "")


@router.get("/purchase-orders/{number}")
async def purchase_order(number: str, v: ViewerDep) -> Response:
    try:
        po = await v.platform.read(lambda s: documents.purchase_order(s, _who(v), number[:30]))
    except DomainError as e:
        return await not_possible(v, e)
    may_receive = v.user.may(Action.PURCHASE_RECEIVE) and po["status"] in OPEN_ORDER_STATUSES
    links_bills = v.user.may(Action.INVOICE_SEE_ALL) or v.user.may(Action.SUPPLIER_INVOICE_ENTER)
    return await render(v, "purchase_order.html", section="purchasing", po=po, may_receive=may_receive,
                        links_bills=links_bills,
                        attachments=await panel(v, po["number"], f"/purchase-orders/{po['number']}"),
                        discussion=await timeline(v, po["number"], f"/purchase-orders/{po['number']}"),
                        may_bill=v.user.may(Action.SUPPLIER_INVOICE_ENTER)
                        and any(ln["received_qty"] > ln["billed_qty"] for ln in po["lines"]))


@router.get("/purchase-orders/{number}/pdf")
async def purchase_order_pdf(number: str, v: ViewerDep) -> Response:
    try:
        po = await v.platform.read(lambda s: documents.purchase_order(s, _who(v), number[:30]))
    except DomainError as e:
        return await not_possible(v, e)
    return await pdf.response("purchase_order.html", f"{po['number']}.pdf", po=po)


# --- other printed documents of the order-to-cash side ------------------------------------------------------

@router.get("/quotations/{number}/pdf")
async def quotation_pdf(number: str, v: ViewerDep) -> Response:
    """The quotation as the customer receives it (linked from its page)."""
    try:
        q = await v.platform.read(lambda s: documents.quotation(s, _who(v), number[:30]))
    except DomainError as e:
        return await not_possible(v, e)
    return await pdf.response("quotation.html", f"{q['number']}.pdf", q=q)
