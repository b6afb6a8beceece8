"""Batch release of a stored MRP run over the database: check what is asked, claim the planned orders (the
unique (run, n) of planned_order_releases makes each one an order once), then make them one by one (production
orders) and per supplier (purchase requisitions), each once under its claim, so a retried step finds what it made.
The MrpRelease process calls these through its activities; the API checks with the same functions first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.core import records as common
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.limits import MAX_QTY
from domain.core.types import utcnow
from domain.inventory import stock
from domain.manufacturing import boms as bom_service
from domain.parties.tables import Supplier
from domain.planning import services as planning
from domain.planning.release_rules import (
    ReleasePlan,
    ReleaseProgress,
    ReleaseRequest,
    check_releasable,
    positions,
    totals,
)
from domain.planning.release_tables import PlannedOrderRelease
from domain.planning.tables import MrpRun
from domain.processes import ids
from domain.processes import services as processes
from domain.processes.rules import ProcessStatus
from domain.production import rules as production_rules
from domain.production.making import bom_of, new_order
from domain.production.tables import ProductionOrder
from domain.purchasing import rules as purchasing_rules
from domain.sales.tables import SalesOrder

PROCESS_TYPE = "mrp_release"


def released(session: Session, run: MrpRun) -> dict[int, str | None]:
    """Position → what the planned order became (None while its release is making it), for every claimed one."""
    return {r.n: r.released_as for r in session.execute(
        select(PlannedOrderRelease.n, PlannedOrderRelease.released_as).where(PlannedOrderRelease.run_id == run.id))}


def run_view(session: Session, number: str) -> dict[str, Any]:
    """A stored run as the API shows it: each planned order with its id and `released_as`."""
    run = planning.get_run(session, number)
    return planning.run_view(run, released(session, run))


def releasable(run: dict[str, Any]) -> bool:
    """May a run (as run_view shows it) be released at all? Not a what-if run, nor one a sales order's process made
    for itself (see check)."""
    return not run["what_if"] and not str(run["scope"]).startswith("SO-")


def check(session: Session, run_number: str, planned_order_ids: list[str] | None) -> tuple[MrpRun, ReleasePlan]:
    """What a release of `run_number` would make, or why it cannot (nothing is stored either way): the run is
    known and not a what-if, the ids are its own and not yet released, every item to make has a BOM and every item
    to buy a default supplier and is still active."""
    run = planning.get_run(session, run_number)
    if run.scope.startswith("SO-") and not run.what_if:
        # plan_for_order's run: its order's process made the planned orders pegged to it (create_supply)
        raise Conflict(f"run {run.number} was made for sales order {run.scope} by its process, which orders that "
                       "order's supply itself; run MRP over all open orders to release planned orders")
    planned = run.result["planned_orders"]
    asked = None if planned_order_ids is None else positions(run.number, planned_order_ids, len(planned))
    if not run.what_if:
        since = session.execute(
            select(MrpRun.number, PlannedOrderRelease.release_number).join(MrpRun, MrpRun.id == PlannedOrderRelease.run_id)
            .where(PlannedOrderRelease.run_id != run.id, PlannedOrderRelease.created_at > run.created_at)
            .order_by(PlannedOrderRelease.id).limit(1)).first()
        if since is not None:  # that release's orders are supply this run did not count: it would order it again
            raise Conflict(f"run {run.number} is out of date: planned orders of {since[0]} were released since it was "
                           f"made ({since[1]}), and this run would order the same demand again; run MRP again and "
                           "release from the new run; nothing was created")
    ns = check_releasable(run.number, what_if=run.what_if, count=len(planned), asked=asked,
                          released=released(session, run))
    chosen = {n: planned[n - 1] for n in ns}
    items = stock.active_items(session, sorted({p["sku"] for p in chosen.values()}))
    boms = bom_service.load_all(session)
    for p in chosen.values():
        if p["kind"] == "production":
            bom_of(session, p["sku"], boms)
    too_many = [planning.planned_order_id(run.number, n) for n, p in chosen.items() if Decimal(p["qty"]) > MAX_QTY]
    if too_many:  # an order or a requisition line holds at most MAX_QTY: its process would retry for ever
        raise Invalid(f"{', '.join(too_many)}: more than {MAX_QTY} to make or buy in one order; split the "
                      "demand and run MRP again; nothing was created")
    no_supplier = sorted({p["sku"] for p in chosen.values()
                          if p["kind"] == "purchase" and items[p["sku"]].default_supplier_id is None})
    if no_supplier:
        raise Invalid(f"{', '.join(no_supplier)} {'has' if len(no_supplier) == 1 else 'have'} no default supplier: "
                      "set one on the item's page, then release; nothing was created")
    groups: dict[int, list[int]] = {}
    for n, p in chosen.items():
        if p["kind"] == "purchase":
            groups.setdefault(items[p["sku"]].default_supplier_id or 0, []).append(n)
    return run, ReleasePlan(production=[n for n, p in chosen.items() if p["kind"] == "production"],
                            purchases=[sorted(g) for _, g in sorted(groups.items())])


def allocate(session: Session, run_number: str, planned_order_ids: list[str] | None, actor: str
             ) -> ReleaseRequest:
    """The API's side of a release: checked as `check` does, and numbered (REL-00001) for its process."""
    run, plan = check(session, run_number, planned_order_ids)
    return ReleaseRequest(number=common.next_number(session, "REL"), run=run.number,
                          ns=[*plan.production, *(n for g in plan.purchases for n in g)], requested_by=actor)


def claim(session: Session, req: ReleaseRequest, process_id: str) -> ReleasePlan:
    """The release's first step, in one transaction: checked again (another release may have come first) and every
    planned order claimed under the unique (run, n); its monitor entry. Once: a retry finds its own claim."""
    def effect() -> dict[str, Any]:
        run, plan = check(session, req.run, [planning.planned_order_id(req.run, n) for n in req.ns])
        planned = run.result["planned_orders"]
        session.add_all(PlannedOrderRelease(run_id=run.id, n=n, release_number=req.number, process_id=process_id,
                                            kind=planned[n - 1]["kind"], sku=planned[n - 1]["sku"],
                                            qty=Decimal(planned[n - 1]["qty"]), released_by=req.requested_by)
                        for n in req.ns)
        try:
            session.flush()
        except IntegrityError:  # a release racing this one claimed one of them between the check and here
            raise Conflict(f"another release of run {req.run} took some of these planned orders at the same "
                           "time; nothing was created: look at the run again") from None
        processes.start(session, process_id, PROCESS_TYPE, req.number,
                        title=f"Release of {len(req.ns)} planned order(s) of MRP run {req.run}",
                        owner=req.requested_by, first_step="creating")
        processes.advance(session, process_id, "creating", detail=f"0 of {len(req.ns)} created")
        return plan.model_dump(mode="json")

    return ReleasePlan.model_validate(common.once(session, f"{process_id}:claim", effect))


def _claims(session: Session, number: str) -> list[PlannedOrderRelease]:
    return list(session.execute(select(PlannedOrderRelease).where(PlannedOrderRelease.release_number == number)
                                .order_by(PlannedOrderRelease.n)).scalars())


def _pegged_processes(session: Session, pegs: list[str], prefix: str) -> list[str]:
    """The processes waiting for what a planned order makes: its sales orders' and production orders'."""
    sales = [p for p in pegs if p.startswith("SO-")]
    found = list(session.execute(select(SalesOrder.process_id).where(SalesOrder.number.in_(sales))).scalars()
                 ) if sales else []
    found += [ids.production_order(p, prefix) for p in pegs if p.startswith("MO-")]
    return sorted(set(found))


def _progress(session: Session, number: str, process_id: str) -> None:
    claims = _claims(session, number)
    made = sum(1 for c in claims if c.released_as)
    processes.advance(session, process_id, "creating", detail=f"{made} of {len(claims)} created")


def make_production(session: Session, req: ReleaseRequest, n: int, process_id: str, prefix: str
                    ) -> production_rules.ProductionRef:
    """Planned order `n` as a production order (its process started by the caller). Once: a retry finds the
    order its claim records and answers it again."""
    run = planning.get_run(session, req.run)
    row = session.execute(select(PlannedOrderRelease).where(PlannedOrderRelease.run_id == run.id,
                                                            PlannedOrderRelease.n == n)).scalar_one()
    if row.release_number != req.number:
        raise Conflict(f"planned order {planning.planned_order_id(req.run, n)} belongs to release {row.release_number}")
    p = run.result["planned_orders"][n - 1]
    sales = [x for x in p["pegged_to"] if x.startswith("SO-")]
    if row.released_as:
        order = common.one(session, ProductionOrder, ProductionOrder.number == row.released_as,
                           f"no production order {row.released_as}")
    else:
        order = new_order(session, sku=p["sku"], qty=Decimal(p["qty"]),
                          release_date=date.fromisoformat(p["release_date"]),
                          due_date=date.fromisoformat(p["due_date"]), planner=req.requested_by, id_prefix=prefix,
                          key=f"{process_id}:{n}", sales_order=sales[0] if len(sales) == 1 else None,
                          pegged_to=p["pegged_to"] or ["safety stock"],
                          purpose=f"for {planning.planned_order_id(req.run, n)}", parent_id=process_id)
        row.released_as, row.released_at = order.number, utcnow()
        session.flush()
        _progress(session, req.number, process_id)
    return production_rules.ProductionRef(
        number=order.number, sku=order.sku, qty=order.qty, issue_method=order.issue_method,
        due_date=order.due_date, planner=order.planner, sales_order=order.sales_order_number,
        notify=_pegged_processes(session, p["pegged_to"], prefix))


def make_requisition(session: Session, req: ReleaseRequest, ns: list[int], process_id: str, prefix: str, seq: int
                     ) -> purchasing_rules.RequisitionDraft:
    """The planned purchases `ns` (one supplier's) as one requisition, recorded by the Purchase process the caller
    starts. Once per `seq`: a retry answers the same draft."""
    def effect() -> dict[str, Any]:
        run = planning.get_run(session, req.run)
        planned = [run.result["planned_orders"][n - 1] for n in ns]
        items = stock.items_by_sku(session, sorted({p["sku"] for p in planned}))
        claims = {c.n: c for c in _claims(session, req.number)}
        made = [ids.production_order(c.released_as, prefix) for c in claims.values()
                if c.kind == "production" and c.released_as]
        pegs = sorted({x for p in planned for x in p["pegged_to"]})
        sales = [x for x in pegs if x.startswith("SO-")]
        draft = planning.requisition_drafts(
            session, planned, items, planner=req.requested_by,
            justification=f"MRP run {req.run}: planned orders "
                          f"{', '.join(planning.planned_order_id(req.run, n) for n in ns)}"[:500],
            sales_order=sales[0] if len(sales) == 1 else None,
            notify=sorted(set(_pegged_processes(session, pegs, prefix) + made)))[0]
        for n in ns:
            claims[n].released_as, claims[n].released_at = draft.number, utcnow()
        session.flush()
        _progress(session, req.number, process_id)
        return draft.model_dump(mode="json")

    return purchasing_rules.RequisitionDraft.model_validate(common.once(session, f"{process_id}:buy:{seq}", effect))


def finish(session: Session, req: ReleaseRequest, process_id: str) -> ReleaseProgress:
    claims = _claims(session, req.number)
    made = sum(1 for c in claims if c.released_as)
    kinds = {k: sum(1 for c in claims if c.kind == k) for k in ("production", "purchase")}
    buys = len({c.released_as for c in claims if c.kind == "purchase"})
    processes.advance(session, process_id, "created", close=True, status=ProcessStatus.COMPLETED,
                      detail=f"{made} of {len(claims)} created: {kinds['production']} production order(s), "
                             f"{kinds['purchase']} planned purchase(s) in {buys} requisition(s)")
    return ReleaseProgress(release_id=req.number, run_id=req.run, made=made, total=len(claims), done=True)


def releases(session: Session, run_number: str) -> list[dict[str, Any]]:
    """The releases of a run, newest first: who, when, how many of how many made, and their process."""
    run = planning.get_run(session, run_number)
    rows = session.execute(
        select(PlannedOrderRelease.release_number, PlannedOrderRelease.process_id, PlannedOrderRelease.released_by,
               func.min(PlannedOrderRelease.created_at).label("at"), func.count().label("total"),
               func.count(PlannedOrderRelease.released_as).label("made"))
        .where(PlannedOrderRelease.run_id == run.id)
        .group_by(PlannedOrderRelease.release_number, PlannedOrderRelease.process_id, PlannedOrderRelease.released_by)
        .order_by(PlannedOrderRelease.release_number.desc())).all()
    return [{"release_id": r.release_number, "process_id": r.process_id, "released_by": r.released_by, "at": r.at,
             "made": r.made, "total": r.total} for r in rows]


def progress_of(session: Session, number: str) -> ReleaseProgress:
    """Where release `number` stands (NotFound when no release has that number)."""
    claims = _claims(session, number)
    if not claims:
        raise NotFound(f"no release {number}")
    made = sum(1 for c in claims if c.released_as)
    run = session.get(MrpRun, claims[0].run_id)
    return ReleaseProgress(release_id=number, run_id=run.number if run else "", made=made, total=len(claims),
                           done=made == len(claims))


def page_rows(session: Session, run: MrpRun, planned: list[dict[str, Any]]) -> dict[str, Any]:
    """The run page's planned orders with what each became and its value at standard cost, and the totals per
    kind (all, and of those still to release); the suppliers the purchases would go to."""
    done = released(session, run)
    skus = sorted({p["sku"] for p in planned})
    items = stock.items_by_sku(session, skus) if skus else {}
    names = {r.id: r.name for r in session.execute(select(Supplier.id, Supplier.name))}
    rows = []
    for p in planned:
        n = int(p["id"].rsplit("-", 1)[1])
        item = items.get(p["sku"])
        cost = item.standard_cost if item is not None else Decimal(0)
        rows.append({**p, "n": n, "released_as": done.get(n), "claimed": n in done,
                     "value": (Decimal(p["qty"]) * cost).quantize(Decimal("0.01")),
                     "supplier": names.get(item.default_supplier_id) if item is not None and
                     item.default_supplier_id else None})
    return {"rows": rows, "totals": totals(rows), "open_totals": totals(r for r in rows if not r["claimed"]),
            "released_count": len(done)}
