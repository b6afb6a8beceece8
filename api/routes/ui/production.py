"""The order-to-cost pages: sales orders (list; one order with its lines, production notice, supply, kitting,
delivery and, once delivered, its cost and margin), production orders (list; one order with its materials,
actual cost against standard, variances, the progress and change-request forms) and planning (MRP runs, a
new run over all open orders, one run's planned orders and exceptions). Every change goes to the order's
process through the platform; a refusal shows the page again with the reason and changes nothing. Who sees
what is the JSON API's rule: a sales order its salesperson and the roles that oversee orders (404 for anyone
else), production and planning the roles of /api/production-orders (403 for anyone else)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.auth import Principal
from api.deps import as_actor
from api.i18n import _
from api.routes.common import Offset
from api.routes.ui.crm import form_errors
from api.routes.ui.inbox import task_row
from api.routes.ui.notifications import document_panels
from api.routes.ui.pages import (
    ENV,
    HEADERS,
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
)
from api.starters import order_fulfilment, production_order
from domain.approvals.rules import TaskStatus
from domain.approvals.tables import Task
from domain.core.errors import DomainError, Forbidden, Invalid
from domain.core.numbers import read_number
from domain.core.types import utcnow
from domain.parties.tables import Customer
from domain.permissions import Action
from domain.planning import capacity_data, release, replanning
from domain.planning import services as planning
from domain.planning.tables import MrpRun
from domain.processes.tables import Process
from domain.production import rules as production
from domain.production import services as production_svc
from domain.sales import access as sales_access
from domain.sales import delivery
from domain.sales import rules as sales
from domain.sales import services as sales_svc
from domain.sales.tables import SalesOrder

router = page_router()

PAGE_SIZE = 50
MAX_RUN_ROWS = 500  # planned orders (and exceptions) shown of one MRP run; the rest are counted
RUN_CSP = HEADERS["Content-Security-Policy"] + "; script-src 'self'"  # the run page's /static/mrp_release.js
OPEN_ORDER = sales.OPEN_ORDER_STATUSES
ORDER_STATUSES = list(sales.SalesOrderStatus)
PRODUCTION_STATUSES = [production.ProductionStatus.WAITING_MATERIAL, production.ProductionStatus.RELEASED,
                       production.ProductionStatus.COMPLETED]  # the filter's choices: no order is ever cancelled
PROGRESS_FIELDS = {"completed_qty": "the completed quantity", "labour_hours": "the labour hours",
                   "scrap_qty": "the scrap quantity"}
CHANGE_FIELDS = {"qty": "the new quantity", "due_date": "the new due date", "reason": "the reason"}


def _qty(value: Any) -> str:
    """A quantity as people write it: 10, 2.5, 1,250 (never 10.0000)."""
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(value).normalize():,f}"
    except (InvalidOperation, ValueError):
        return str(value)


ENV.filters.setdefault("qty", _qty)


def _reader(user: Principal) -> bool:
    return user.may(Action.PRODUCTION_READ)


async def _refuse(v: Viewer) -> Response:
    return await not_possible(v, Forbidden("production and planning are for planners, buyers, the warehouse, "
                                           "finance, the cfo, sales managers and admins"))


def _number(text: str, what: str) -> Decimal | None:
    """A number typed in a form (domain.numbers.read_number: 1,250.5 or １２５０．５); None when left empty."""
    return read_number(text, what)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _pager(path: str, filters: dict[str, str], offset: int, more: bool) -> dict[str, Any]:
    return {"newer": f"{path}?{urlencode({**filters, 'offset': max(offset - PAGE_SIZE, 0)})}" if offset else "",
            "older": f"{path}?{urlencode({**filters, 'offset': offset + PAGE_SIZE})}" if more else ""}



# --- sales orders -------------------------------------------------------------------------------------

@router.get("/sales-orders")
async def sales_orders(v: ViewerDep, status: Annotated[str, Query(max_length=20)] = "", offset: Offset = 0
                       ) -> Response:
    q = (select(SalesOrder, Customer.name, Process.stage)
         .join(Customer, Customer.id == SalesOrder.customer_id)
         .outerjoin(Process, Process.process_id == SalesOrder.process_id))
    if (visible := sales_access.orders_visible_to(v.user.username, v.user.roles)) is not None:
        q = q.where(visible)
    if status:
        q = q.where(SalesOrder.status == status)
    q = q.order_by(SalesOrder.id.desc()).limit(PAGE_SIZE + 1).offset(offset)
    rows = await v.platform.read(lambda s: [
        {"number": o.number, "customer": name, "status": o.status, "stage": stage or "", "total": o.total,
         "currency": o.currency, "owner": o.owner, "requested_date": o.requested_date, "margin": o.margin,
         "notice": o.notice, "created_at": o.created_at} for o, name, stage in s.execute(q)])
    return await render(v, "sales_orders.html", section="orders", orders=rows[:PAGE_SIZE], statuses=ORDER_STATUSES,
                        status_filter=status, offset=offset,
                        **_pager("/sales-orders", {"status": status}, offset, len(rows) > PAGE_SIZE))


def _pct(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    return None if part is None or not whole else (part / whole * 100).quantize(Decimal("0.1"))


def _ready(view: dict[str, Any]) -> bool:
    """Ready to deliver: in fulfilment with every line still to deliver fully reserved (the process's own check
    follows)."""
    return view["status"] == sales.SalesOrderStatus.IN_FULFILMENT and all(
        ln["reserved_qty"] >= ln["qty"] - ln["delivered_qty"] for ln in view["lines"])


def _deliverable(view: dict[str, Any]) -> bool:
    """Something reserved and still to deliver: a partial delivery may go (the process's own check follows)."""
    return view["status"] == sales.SalesOrderStatus.IN_FULFILMENT and any(
        ln["reserved_qty"] > 0 and ln["qty"] > ln["delivered_qty"] for ln in view["lines"])


async def render_sales_order(v: Viewer, number: str, *, status: int = 200, **ctx: Any) -> Response:
    def load(s: Session) -> dict[str, Any]:
        row = sales_svc.visible_order(s, number, (v.user.username, v.user.roles))
        view = production_svc.sales_order_view(s, row, viewer=(v.user.username, v.user.roles))
        customer = s.get(Customer, row.customer_id)
        proc = s.get(Process, row.process_id)
        kit, kit_error = None, ""
        if row.status in OPEN_ORDER:
            try:
                kit = planning.order_kitting(s, number)
            except DomainError as e:
                kit_error = e.message
        runs = s.execute(select(MrpRun.number, MrpRun.as_of, MrpRun.planned_count, MrpRun.exception_count)
                         .where(MrpRun.scope == number).order_by(MrpRun.id.desc()).limit(10)).all()
        return {"so": view, "customer": customer.name if customer else "", "stage": proc.stage if proc else "",
                "kit": kit, "kit_error": kit_error,
                "runs": [{"number": r.number, "as_of": r.as_of, "planned": r.planned_count,
                          "exceptions": r.exception_count} for r in runs]}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    so = data["so"]
    cost, revenue = so["cost"], so["revenue"]
    shares = {k: _pct(x, revenue) for k, x in (cost or {}).items()}
    margin_pct = _pct(so["margin"], revenue) if cost is not None else None
    may_deliver = _deliverable(so) and (v.user.username == so["owner"] or v.user.may(Action.SALES_ORDER_DELIVER))
    # The invoices are the order's salesperson's and finance's: nobody else is linked to a page that answers 404.
    links_invoices = v.user.username == so["owner"] or v.user.may(Action.INVOICE_SEE_ALL)
    return await render(v, "sales_order.html", status, section="orders", may_deliver=may_deliver,
                        ready=_ready(so), margin_pct=margin_pct, shares=shares, links_production=_reader(v.user),
                        links_invoices=links_invoices,
                        panels=await document_panels(v, number, f"/sales-orders/{number}"), **data, **ctx)


@router.get("/sales-orders/{number}")
async def sales_order_page(number: str, v: ViewerDep) -> Response:
    return await render_sales_order(v, number)


@router.post("/sales-orders/{number}/deliver")
async def deliver(number: str, v: PosterDep, request: Request) -> Response:
    """Everything still to deliver (`action` all, or none: the form before partial deliveries), or the quantities
    typed per line (`action` part; the empty ones left out)."""
    try:
        await v.platform.glance(lambda s: sales_svc.visible_order(s, number, (v.user.username, v.user.roles)))
    except DomainError as e:
        return await not_possible(v, e)
    form = await request.form()
    typed = {k: str(val) for k, val in form.items() if k.startswith(("qty_", "sku_"))}
    try:
        lines: list[delivery.DeliveryLineIn] | None = None
        if form.get("action", "all") != "all":
            lines = []
            for key, text in sorted(typed.items()):
                if not key.startswith("qty_") or not text.strip():
                    continue
                sku = typed.get(f"sku_{key[4:]}", "")
                qty = _number(text, f"the quantity of {sku} to deliver")
                if qty is None:
                    continue
                try:
                    lines.append(delivery.DeliveryLineIn(sku=sku, qty=qty))
                except ValidationError:
                    raise Invalid(f"the quantity of {sku} to deliver must be above zero and at most "
                                  "4 decimal places") from None
            if not lines:
                raise Invalid("type a quantity for at least one line (or deliver everything)")
        status = await order_fulfilment.deliver(v.platform, as_actor(v.user), number, lines)
    except DomainError as e:
        return await render_sales_order(v, number, status=error_status(e), typed=typed,
                                        error=_("The order was not delivered. %(reason)s", reason=_sentence(e.message)))
    if status == sales.FulfilmentStatus.COMPLETED:
        msg = _("Sales order %(number)s is delivered: the goods left with their delivery note, the invoice is issued "
                "(revenue and tax) and the cost of goods sold is posted.", number=number)
    else:
        msg = _("Part of sales order %(number)s is delivered, with its delivery note and invoice. The rest is still "
                "to deliver.", number=number)
    return redirect(f"/sales-orders/{number}", msg=msg)


# --- production orders --------------------------------------------------------------------------------

@router.get("/production-orders")
async def production_orders(v: ViewerDep, status: Annotated[str, Query(max_length=30)] = "",
                            sales_order: Annotated[str, Query(max_length=30)] = "", offset: Offset = 0) -> Response:
    return await render_production_orders(v, status, sales_order, offset)


async def render_production_orders(v: Viewer, status: str = "", sales_order: str = "", offset: int = 0, *,
                                   code: int = 200, **ctx: Any) -> Response:
    """The list, with the "New production order" form (make to stock) for who may make one; `ctx`: the form's
    values and error after a refusal."""
    if not _reader(v.user):
        return await _refuse(v)
    rows = await v.platform.read(lambda s: production_svc.views(
        s, limit=PAGE_SIZE + 1, offset=offset, status=status or None, sales_order=sales_order.strip() or None))
    return await render(v, "production_orders.html", code, section="production", orders=rows[:PAGE_SIZE],
                        statuses=PRODUCTION_STATUSES, status_filter=status, sales_order=sales_order.strip(),
                        offset=offset, **_pager("/production-orders", {"status": status, "sales_order": sales_order},
                                                offset, len(rows) > PAGE_SIZE), **ctx)


async def render_production_order(v: Viewer, number: str, *, status: int = 200, **ctx: Any) -> Response:
    now = utcnow()

    def load(s: Session) -> dict[str, Any]:
        row = production_svc.order(s, number)
        tasks = list(s.execute(select(Task).where(Task.process_id == row.process_id, Task.status == TaskStatus.OPEN,
                                                  Task.kind == "approval")  # the late alert is the page's notice
                               .order_by(Task.created_at).limit(20)).scalars())
        return {"mo": production_svc.view(s, row), "open_tasks": [task_row(t, now) for t in tasks],
                # a change's approval is the only one an order has: while it is open, no other change is taken
                "may_change": production.may_request_change(as_actor(v.user), row.status, change_open=bool(tasks))
                and _approvable(s, number, v.user.username)}

    if not _reader(v.user):
        return await _refuse(v)
    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    mo = data["mo"]
    data["variance_total"] = sum(mo["variances"].values(), Decimal(0))
    data["standard_unit"] = (mo["standard_cost"]["total"] / mo["qty"]).quantize(production.CENT4) if mo["qty"] else None
    return await render(v, "production_order.html", status, section="production",
                        may_report=(mo["status"] == production.ProductionStatus.RELEASED
                                    and v.user.may(Action.PRODUCTION_REPORT)),
                        progress=ctx.pop("progress", {}), change=ctx.pop("change", {}),
                        panels=await document_panels(v, number, f"/production-orders/{number}"), **data, **ctx)


def _approvable(s: Session, number: str, requester: str) -> bool:
    """Has a change of the order asked by `requester` someone to approve it (the process refuses it otherwise)?"""
    try:
        production_svc.change_steps(s, number, requester)
    except DomainError:
        return False
    return True


async def _unreachable(v: Viewer, number: str) -> Response | None:
    """The page a form post on a production order answers with when the user may not see it or it does not
    exist; None when the form may be handled."""
    if not _reader(v.user):
        return await _refuse(v)
    try:
        await v.platform.read(production_svc.order, number)
    except DomainError as e:
        return await not_possible(v, e)
    return None


@router.get("/production-orders/{number}")
async def production_order_page(number: str, v: ViewerDep) -> Response:
    return await render_production_order(v, number)


@router.post("/production-orders/{number}/progress")
async def report_progress(number: str, v: PosterDep, completed_qty: Annotated[str, Form(max_length=40)] = "",
                          labour_hours: Annotated[str, Form(max_length=40)] = "",
                          scrap_qty: Annotated[str, Form(max_length=40)] = "",
                          scrap_reason: Annotated[str, Form(max_length=40)] = "") -> Response:
    if (refused := await _unreachable(v, number)) is not None:
        return refused
    form = {"completed_qty": completed_qty, "labour_hours": labour_hours, "scrap_qty": scrap_qty}
    try:
        if not v.user.may(Action.PRODUCTION_REPORT):
            raise Forbidden("only a planner, the warehouse or an admin can report production progress")
        values = {k: _number(val, PROGRESS_FIELDS[k]) for k, val in form.items()}
        try:
            report = production.ProgressIn.model_validate({**{k: x for k, x in values.items() if x is not None},
                                                           "scrap_reason": scrap_reason.strip()})
        except ValidationError as e:
            raise Invalid(form_errors(e, PROGRESS_FIELDS)) from None
        after = await production_order.progress(v.platform, as_actor(v.user), number, report)
    except DomainError as e:
        return await render_production_order(v, number, status=error_status(e),
                                              progress={**form, "scrap_reason": scrap_reason},
                                              error=_("The progress was not recorded; nothing was changed. %(reason)s",
                                                      reason=_sentence(e.message)))
    msg = (_("The progress on %(number)s is recorded. The order is completed.", number=number)
           if after.status == production.ProductionStatus.COMPLETED else
           _("The progress on %(number)s is recorded. %(made)s of %(qty)s made so far.", number=number,
             made=_qty(after.completed_qty), qty=_qty(after.qty)))
    return redirect(f"/production-orders/{number}", msg=msg)


@router.post("/production-orders/{number}/change-requests")
async def request_change(number: str, v: PosterDep, qty: Annotated[str, Form(max_length=40)] = "",
                         due_date: Annotated[str, Form(max_length=20)] = "",
                         reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    if (refused := await _unreachable(v, number)) is not None:
        return refused
    form = {"qty": qty, "due_date": due_date, "reason": reason}
    try:
        if not v.user.may(Action.PRODUCTION_CHANGE):
            raise Forbidden("only a planner or an admin can ask to change a production order")
        # Nobody to approve it (no manager): refused here as the process would, before it takes the change.
        await v.platform.read(production_svc.change_steps, number, v.user.username)
        try:
            new_date = date.fromisoformat(due_date.strip()) if due_date.strip() else None
        except ValueError:
            raise Invalid(f"the new due date must be a date such as 2030-01-31, not {due_date.strip()!r}") from None
        try:
            change = production.ChangeIn(qty=_number(qty, "the new quantity"), due_date=new_date,
                                         reason=reason.strip())
        except ValidationError as e:
            raise Invalid(form_errors(e, CHANGE_FIELDS)) from None
        await production_order.request_change(v.platform, as_actor(v.user), number, change)
    except DomainError as e:
        return await render_production_order(v, number, status=error_status(e), change=form,
                                              error=_("The change was not requested; nothing was changed. %(reason)s",
                                                      reason=_sentence(e.message)))
    return redirect(f"/production-orders/{number}",
                    msg=_("The change to %(number)s is requested; it applies once it is approved.", number=number))


# --- planning -----------------------------------------------------------------------------------------

async def _planning(v: Viewer, offset: int = 0, *, status: int = 200, **ctx: Any) -> Response:
    if not _reader(v.user):
        return await _refuse(v)
    rows = await v.platform.read(planning.runs, PAGE_SIZE + 1, offset)
    # the load of the work centres (issue 20): open production orders and the latest run's planned ones
    ctx.setdefault("load", await v.platform.read(capacity_data.load_view, datetime.now(UTC).date(), "latest"))
    return await render(v, "planning.html", status, section="planning", runs=rows[:PAGE_SIZE], offset=offset,
                        may_run=v.user.may(Action.MRP_RUN),
                        **_pager("/planning", {}, offset, len(rows) > PAGE_SIZE), **ctx)


@router.get("/planning")
async def planning_page(v: ViewerDep, offset: Offset = 0) -> Response:
    return await _planning(v, offset)


@router.post("/planning/mrp-runs")
async def run_mrp(v: PosterDep, net_change: Annotated[str, Form(max_length=5)] = "") -> Response:
    if not _reader(v.user):
        return await _refuse(v)
    if not v.user.may(Action.MRP_RUN):
        return await _planning(v, status=403, error=_("Only a planner or an admin can run MRP. Nothing was run."))
    as_of = datetime.now(UTC).date()

    def write(s: Session) -> tuple[str, int, int, int | None]:
        if net_change:  # re-planned from the latest run's state, when this process holds it; else a full run
            run, replanned = replanning.run_net_change(s, as_of=as_of, actor=v.user.username)
            return run.number, run.planned_count, run.exception_count, replanned
        run = planning.run_open_orders(s, as_of=as_of, actor=v.user.username)
        return run.number, run.planned_count, run.exception_count, None

    try:
        number, planned, exceptions, replanned = await v.platform.write(write)
    except DomainError as e:
        return await _planning(v, status=error_status(e), error=_("MRP did not run. %(reason)s", reason=_sentence(e.message)))
    if replanned is not None:
        return redirect(f"/planning/mrp-runs/{number}", msg=_(
            "Net-change MRP run %(number)s: %(replanned)s item(s) re-planned since the latest run; %(planned)s planned "
            "order(s), %(exceptions)s exception(s), as a full run gives them. Nothing else changed.", number=number,
            replanned=replanned, planned=planned, exceptions=exceptions))
    return redirect(f"/planning/mrp-runs/{number}", msg=_("MRP run %(number)s over all open orders: %(planned)s planned "
                                                          "order(s), %(exceptions)s exception(s). Nothing else changed.",
                                                          number=number, planned=planned, exceptions=exceptions))


@router.get("/planning/mrp-runs/{number}")
async def mrp_run_page(number: str, v: ViewerDep, sku: Annotated[str, Query(max_length=60)] = "") -> Response:
    return await render_mrp_run(v, number, sku)


async def render_mrp_run(v: Viewer, number: str, sku: str = "", *, status: int = 200, **ctx: Any) -> Response:
    """One run: its exceptions and planned orders, as a Release form (checkboxes, totals) for who may release."""
    if not _reader(v.user):
        return await _refuse(v)
    sku = sku.strip()

    def load(s: Session) -> dict[str, Any]:
        run = planning.get_run(s, number)
        view = planning.run_view(run)
        planned = view["planned_orders"]  # with their ids
        exceptions = run.result.get("exceptions", [])
        if sku:
            planned = [p for p in planned if p["sku"].lower() == sku.lower()]
            exceptions = [e for e in exceptions if e["sku"].lower() == sku.lower()]
        return {"run": {k: val for k, val in view.items() if k not in ("planned_orders", "exceptions")},
                "planned": planned[:MAX_RUN_ROWS], "planned_total": len(planned),
                "exceptions": exceptions[:MAX_RUN_ROWS], "exceptions_total": len(exceptions),
                # issue 20: what each planned order became, totals, and the run's releases (the Release form)
                **release.page_rows(s, run, planned[:MAX_RUN_ROWS]), "releases": release.releases(s, number)}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    response = await render(v, "mrp_run.html", status, section="planning", sku=sku, cap=MAX_RUN_ROWS,
                            may_release=v.user.may(Action.MRP_RELEASE) and release.releasable(data["run"]), **data,
                            **ctx)
    response.headers["Content-Security-Policy"] = RUN_CSP  # its own script: the ticked planned orders' totals
    return response
