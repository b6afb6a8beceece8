"""Bills of materials and work centres in the database: saved whole (every BOM checked together with
all stored ones, so a cycle at any depth is refused with its path and nothing is stored), loaded
whole for planning, and shown."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, aliased

from domain.core import records as common
from domain.core.errors import Conflict, Invalid, NotFound
from domain.core.types import utcnow
from domain.inventory.tables import Item
from domain.manufacturing.bom import Bom, BomLine, check_boms, find_cycle, need
from domain.manufacturing.rules import BomIn, WorkCentreIn
from domain.manufacturing.tables import BomLineRow, BomRow, WorkCentre

Component = aliased(Item)


# -- work centres ----------------------------------------------------------------------------------

def create_work_centre(session: Session, data: WorkCentreIn) -> WorkCentre:
    if session.execute(select(WorkCentre.id).where(WorkCentre.code == data.code)).first():
        raise Conflict(f"work centre {data.code!r} exists already")
    wc = WorkCentre(**data.model_dump())
    session.add(wc)
    session.flush()
    return wc


def update_work_centre(session: Session, code: str, name: str, hourly_cost: Decimal) -> WorkCentre:
    """A work centre's name and hourly cost (its code stays: BOMs and files name it). A BOM without a labour rate
    of its own costs its next production orders at the new rate; orders made already keep theirs."""
    wc = session.execute(select(WorkCentre).where(WorkCentre.code == code)).scalar_one_or_none()
    if wc is None:
        raise NotFound(f"no work centre {code!r}")
    checked = WorkCentreIn(code=code, name=name, hourly_cost=hourly_cost)
    wc.name, wc.hourly_cost = checked.name, checked.hourly_cost
    session.flush()
    return wc


def work_centre_view(wc: WorkCentre) -> dict[str, Any]:
    return {"id": wc.id, "code": wc.code, "name": wc.name, "hourly_cost": wc.hourly_cost,
            "created_at": wc.created_at}


def work_centres(session: Session, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    q = select(WorkCentre).order_by(WorkCentre.code).limit(limit).offset(offset)
    return [work_centre_view(wc) for wc in session.execute(q).scalars()]


# -- saving ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Saved:
    item_sku: str
    created: bool  # False: it replaced the item's BOM


def _nowhere(sku: str) -> str | None:
    return None


def save_boms(session: Session, boms: Sequence[BomIn], where: Callable[[str], str | None] = _nowhere) -> list[Saved]:
    """Create or replace the BOM of each item named, all or none. `where(sku)` says where that item's BOM
    came from ("line 4" of a file), so a refusal can point at it."""

    def at(sku: str) -> str:
        place = where(sku)
        return f" ({place})" if place else ""

    # Two saves at once could each be sound alone and form a cycle together: they take turns (a row
    # lock on PostgreSQL; SQLite writers take turns anyway). Taken before reading what is stored.
    common.next_number(session, "BOM-CHANGE")
    items = {r.sku: r for r in session.execute(select(Item.id, Item.sku, Item.kind))}
    centres = {r.code: r for r in session.execute(select(WorkCentre.id, WorkCentre.code, WorkCentre.hourly_cost))}
    new: dict[str, Bom] = {}
    for b in boms:
        parent = items.get(b.item_sku)
        if parent is None:
            raise NotFound(f"unknown SKU {b.item_sku!r}{at(b.item_sku)}")
        if parent.kind != "manufactured":
            raise Invalid(f"{b.item_sku} is a purchased item; only a manufactured item has a BOM"
                          f"{at(b.item_sku)}")
        if b.item_sku in new:
            raise Invalid(f"two BOMs for {b.item_sku}{at(b.item_sku)}")
        wc = None
        if b.work_centre is not None:
            wc = centres.get(b.work_centre)
            if wc is None:
                raise NotFound(f"no work centre {b.work_centre!r}{at(b.item_sku)}")
        rate = b.labour_rate if b.labour_rate is not None else (wc.hourly_cost if wc else Decimal(0))
        new[b.item_sku] = b.to_bom(rate)
    for sku, bom in new.items():
        try:
            check_boms({sku: bom}, items)  # its lines and components; cycles over everything below
        except Invalid as e:
            raise Invalid(e.message + at(sku)) from None
    merged = {**load_all(session), **new}
    cycle = find_cycle(merged)
    if cycle:
        # Told from the first BOM being saved: that is the one the user can change.
        order = {sku: n for n, sku in enumerate(new)}
        start = min((sku for sku in cycle if sku in new), key=order.__getitem__)
        i = cycle.index(start)
        cycle = cycle[i:-1] + cycle[:i] + [start]
        places = [f"{sku} on {where(sku)}" for sku in dict.fromkeys(cycle) if sku in new and where(sku)]
        raise Invalid(f"BOM cycle: {' → '.join(cycle)}" + (f" (the BOMs of {', '.join(places)})" if places else ""))

    existing = {r.item_id: r for r in session.execute(
        select(BomRow).where(BomRow.item_id.in_([items[s].id for s in new]))).scalars()}
    saved, now = [], utcnow()
    for b in boms:
        item_id = items[b.item_sku].id
        row = existing.get(item_id)
        fields = {"labour_hours": b.labour_hours, "labour_rate": b.labour_rate, "overhead_rate": b.overhead_rate,
                  "issue_method": b.issue_method,
                  "work_centre_id": centres[b.work_centre].id if b.work_centre else None}
        if row is None:
            row = BomRow(item_id=item_id, revision=1, created_at=now, updated_at=now, **fields)
            session.add(row)
            session.flush()
        else:
            for k, v in fields.items():
                setattr(row, k, v)
            row.revision, row.updated_at = row.revision + 1, now
            session.execute(delete(BomLineRow).where(BomLineRow.bom_id == row.id))
        session.execute(insert(BomLineRow), [
            {"bom_id": row.id, "position": n, "component_item_id": items[ln.component_sku].id, "qty": ln.qty,
             "scrap_pct": ln.scrap_pct} for n, ln in enumerate(b.lines, start=1)])
        saved.append(Saved(b.item_sku, created=item_id not in existing))
    session.flush()
    return saved


def save_bom(session: Session, bom: BomIn) -> Saved:
    return save_boms(session, [bom])[0]


# -- loading ---------------------------------------------------------------------------------------

def _heads(session: Session, skus: Iterable[str] | None = None, limit: int | None = None,
           offset: int = 0) -> list[Any]:
    q = (select(BomRow.id, Item.sku, Item.name, BomRow.revision, BomRow.labour_hours, BomRow.labour_rate,
                BomRow.overhead_rate, BomRow.issue_method, WorkCentre.code.label("work_centre"),
                WorkCentre.hourly_cost, BomRow.created_at, BomRow.updated_at)
         .join(Item, Item.id == BomRow.item_id).outerjoin(WorkCentre, WorkCentre.id == BomRow.work_centre_id)
         .order_by(Item.sku).limit(limit).offset(offset))
    if skus is not None:
        q = q.where(Item.sku.in_(list(skus)))
    return list(session.execute(q))


def _lines(session: Session, bom_ids: list[int] | None = None) -> dict[int, list[Any]]:
    q = (select(BomLineRow.bom_id, BomLineRow.position, Component.sku, Component.name, BomLineRow.qty,
                BomLineRow.scrap_pct)
         .join(Component, Component.id == BomLineRow.component_item_id)
         .order_by(BomLineRow.bom_id, BomLineRow.position))
    if bom_ids is not None:
        q = q.where(BomLineRow.bom_id.in_(bom_ids))
    out: dict[int, list[Any]] = {}
    for r in session.execute(q):
        out.setdefault(r.bom_id, []).append(r)
    return out


def _rate(h: Any) -> Decimal:
    if h.labour_rate is not None:
        rate: Decimal = h.labour_rate
        return rate
    return h.hourly_cost if h.hourly_cost is not None else Decimal(0)


def load_all(session: Session) -> Mapping[str, Bom]:
    """Every stored BOM as planning's pure type, by item SKU: two queries, whatever the size."""
    lines = _lines(session)
    return {h.sku: Bom(item=h.sku, lines=tuple(BomLine(ln.sku, ln.qty, ln.scrap_pct) for ln in lines.get(h.id, ())),
                       labour_hours=h.labour_hours, issue_method=h.issue_method, labour_rate=_rate(h),
                       overhead_rate=h.overhead_rate, work_centre=h.work_centre)
            for h in _heads(session)}


def _view(h: Any, lines: list[Any]) -> dict[str, Any]:
    rate = _rate(h)
    return {
        "item_sku": h.sku, "item_name": h.name, "revision": h.revision, "issue_method": h.issue_method,
        "labour_hours": h.labour_hours, "labour_rate": rate,
        "labour_rate_from": "bom" if h.labour_rate is not None else ("work_centre" if h.work_centre else "none"),
        "overhead_rate": h.overhead_rate, "overhead_basis": "per labour hour", "work_centre": h.work_centre,
        # What one unit costs besides its material.
        "labour_cost": (h.labour_hours * rate).quantize(Decimal("0.0001")),
        "overhead_cost": (h.labour_hours * h.overhead_rate).quantize(Decimal("0.0001")),
        "lines": [{"position": ln.position, "component_sku": ln.sku, "component_name": ln.name, "qty": ln.qty,
                   "scrap_pct": ln.scrap_pct} for ln in lines],
        "created_at": h.created_at, "updated_at": h.updated_at,
    }


def views(session: Session, limit: int | None = None, offset: int = 0,
          skus: Iterable[str] | None = None) -> list[dict[str, Any]]:
    heads = _heads(session, skus, limit, offset)
    lines = _lines(session, [h.id for h in heads]) if limit is not None or skus is not None else _lines(session)
    return [_view(h, lines.get(h.id, [])) for h in heads]


def view(session: Session, sku: str) -> dict[str, Any]:
    found = views(session, skus=[sku])
    if not found:
        if session.execute(select(Item.id).where(Item.sku == sku)).first() is None:
            raise NotFound(f"unknown SKU {sku!r}")
        raise NotFound(f"{sku} has no BOM")
    return found[0]


def check_makeable(session: Session, skus: Iterable[str]) -> None:
    """Every manufactured item among `skus` has a BOM (else nothing could plan its production): Invalid."""
    rows = session.execute(select(Item.sku).outerjoin(BomRow, BomRow.item_id == Item.id)
                           .where(Item.sku.in_(list(skus)), Item.kind == "manufactured", BomRow.id.is_(None))).all()
    if rows:
        missing = ", ".join(sorted(r.sku for r in rows))
        raise Invalid(f"{missing} {'is' if len(rows) == 1 else 'are'} manufactured but "
                      f"{'has' if len(rows) == 1 else 'have'} no BOM: add one before selling it")


def tree(session: Session, sku: str, max_depth: int = 20) -> list[dict[str, Any]]:
    """The BOM of `sku` as rows of a tree, depth first: each component at its level (1 under the item), its
    quantity per unit of its parent and per unit of the item at the top (scrap included), with its own BOM's
    lines below it."""
    all_boms = load_all(session)
    if sku not in all_boms:
        view(session, sku)  # NotFound naming why
    names = dict(session.execute(select(Item.sku, Item.name)).all())
    kinds = dict(session.execute(select(Item.sku, Item.kind)).all())
    rows: list[dict[str, Any]] = []

    def walk(parent: str, per_top: Decimal, level: int, path: tuple[str, ...]) -> None:
        for ln in all_boms[parent].lines:
            total = need(per_top, ln)
            has_bom = ln.component in all_boms
            rows.append({"level": level, "sku": ln.component, "name": names.get(ln.component, ""),
                         "kind": kinds.get(ln.component, ""), "qty": ln.qty, "scrap_pct": ln.scrap_pct,
                         "per_top": total, "has_bom": has_bom, "parent": parent})
            if has_bom and level < max_depth and ln.component not in path:
                walk(ln.component, total, level + 1, (*path, ln.component))

    walk(sku, Decimal(1), 1, (sku,))
    return rows
