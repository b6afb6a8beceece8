"""Items and BOMs as CSV files: exported whole, imported all or none. Every row is checked before
anything is stored; the first bad one is refused naming its line (the header is line 1)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from domain.core.csvfile import parse as _parse
from domain.core.csvfile import read as _rows
from domain.core.csvfile import write as _write
from domain.core.errors import Invalid
from domain.core.names import name_key
from domain.inventory import uoms
from domain.inventory.tables import Item, StockBalance
from domain.manufacturing import boms
from domain.manufacturing.rules import BomIn, BomLineIn, ItemFields
from domain.manufacturing.tables import BomLineRow, BomRow, WorkCentre
from domain.parties.tables import Supplier

ITEM_COLUMNS = ("sku", "name", "kind", "uom", "standard_cost", "lead_time_days", "safety_stock", "min_order_qty",
                "order_multiple", "default_supplier")
BOM_COLUMNS = ("item_sku", "component_sku", "qty", "scrap_pct", "labour_hours", "labour_rate", "overhead_rate",
               "work_centre", "issue_method")
BOM_HEAD = ("labour_hours", "labour_rate", "overhead_rate", "work_centre", "issue_method")  # per BOM, not per line
# The file format (header, line numbers, formula-safe cells): domain.core.csvfile.


# -- items ------------------------------------------------------------------------------------------

def export_items(session: Session) -> str:
    q = (select(Item.sku, Item.name, Item.kind, Item.uom, Item.standard_cost, Item.lead_time_days,
                Item.safety_stock, Item.min_order_qty, Item.order_multiple, Supplier.name)
         .outerjoin(Supplier, Supplier.id == Item.default_supplier_id).order_by(Item.sku))
    return _write(ITEM_COLUMNS, iter(session.execute(q)))


def import_items(session: Session, text: str) -> dict[str, int]:
    """New SKUs are created, known ones updated in the columns the file has; all or none."""
    header, rows = _rows(text, ITEM_COLUMNS, ("sku", "name", "kind"))
    # A supplier is named as names compare (domain.names.name_key): case, spacing, look-alike letters aside.
    suppliers = dict(session.execute(select(Supplier.name_key, Supplier.id)).all())
    existing = {i.sku: i for i in session.execute(select(Item)).unique().scalars()}
    with_bom = set(session.execute(select(Item.sku).join(BomRow, BomRow.item_id == Item.id)).scalars())
    seen: dict[str, int] = {}
    units = uoms.known(session)
    parsed: list[tuple[ItemFields, int | None]] = []
    for line, row in rows:
        supplier = row.pop("default_supplier", "")
        item = _parse(ItemFields, line, {k: v for k, v in row.items() if v != ""})
        try:
            uoms.check_uom(session, item.uom, units)
        except Invalid as e:
            raise Invalid(f"line {line}: {e.message}") from None
        if item.sku in seen:
            raise Invalid(f"line {line}: {item.sku} is on line {seen[item.sku]} already")
        seen[item.sku] = line
        supplier_id = suppliers.get(name_key(supplier)) if supplier else None
        if supplier and supplier_id is None:
            raise Invalid(f"line {line}: there is no supplier {supplier!r}")
        if item.kind == "purchased" and item.sku in with_bom:
            raise Invalid(f"line {line}: {item.sku} has a BOM, so it cannot become a purchased item")
        parsed.append((item, supplier_id))
    columns = [c for c in header if c not in ("sku", "default_supplier")]
    created: list[Item] = []
    for item, supplier_id in parsed:
        row_item = existing.get(item.sku)
        if row_item is None:
            row_item = Item(**item.model_dump(), default_supplier_id=supplier_id)
            session.add(row_item)
            created.append(row_item)
            continue
        for c in columns:
            setattr(row_item, c, getattr(item, c))
        if "default_supplier" in header:
            row_item.default_supplier_id = supplier_id
    session.flush()
    session.add_all([StockBalance(item_id=i.id, on_hand=Decimal(0), reserved=Decimal(0), on_order=Decimal(0),
                                  stock_value=Decimal(0)) for i in created])
    session.flush()
    return {"rows": len(parsed), "created": len(created), "updated": len(parsed) - len(created)}


# -- BOMs -------------------------------------------------------------------------------------------

def export_boms(session: Session) -> str:
    """One row per BOM line; the BOM's own fields repeated on each of its rows."""
    parent, component = aliased(Item), aliased(Item)
    q = (select(parent.sku, component.sku, BomLineRow.qty, BomLineRow.scrap_pct, BomRow.labour_hours,
                BomRow.labour_rate, BomRow.overhead_rate, WorkCentre.code, BomRow.issue_method)
         .select_from(BomLineRow).join(BomRow, BomRow.id == BomLineRow.bom_id)
         .join(parent, parent.id == BomRow.item_id).join(component, component.id == BomLineRow.component_item_id)
         .outerjoin(WorkCentre, WorkCentre.id == BomRow.work_centre_id)
         .order_by(parent.sku, BomLineRow.position))
    return _write(BOM_COLUMNS, iter(session.execute(q)))


def import_boms(session: Session, text: str) -> dict[str, int]:
    """Rows grouped by item_sku (wherever they stand); each item in the file gets the BOM the file gives
    it, replacing its stored one; BOMs not in the file stay. Checked with every stored BOM: a cycle across
    the file and the database is refused naming its path and the lines of the BOMs in it."""
    _, rows = _rows(text, BOM_COLUMNS, ("item_sku", "component_sku", "qty"))
    items = dict(session.execute(select(Item.sku, Item.kind)).all())
    centres = set(session.execute(select(WorkCentre.code)).scalars())
    first: dict[str, int] = {}
    head: dict[str, dict[str, tuple[str, int]]] = {}  # item → BOM field → (value, line it came from)
    lines: dict[str, list[BomLineIn]] = {}
    where_line: dict[tuple[str, str], int] = {}
    for line, row in rows:
        sku = row["item_sku"]
        if not sku:
            raise Invalid(f"line {line}: item_sku is empty")
        kind = items.get(sku)
        if kind is None:
            raise Invalid(f"line {line}: there is no item {sku!r}")
        if kind != "manufactured":
            raise Invalid(f"line {line}: {sku} is a purchased item; only a manufactured item has a BOM")
        first.setdefault(sku, line)
        bl = _parse(BomLineIn, line, {k: row[k] for k in ("component_sku", "qty", "scrap_pct") if row.get(k)})
        if bl.component_sku not in items:
            raise Invalid(f"line {line}: there is no item {bl.component_sku!r} (a component of {sku})")
        if (sku, bl.component_sku) in where_line:
            raise Invalid(f"line {line}: {bl.component_sku} is in the BOM of {sku} on line "
                          f"{where_line[sku, bl.component_sku]} already; add the quantities together")
        where_line[sku, bl.component_sku] = line
        lines.setdefault(sku, []).append(bl)
        fields = head.setdefault(sku, {})
        for f in BOM_HEAD:
            value = row.get(f, "")
            if not value:
                continue
            if f == "work_centre" and value not in centres:
                raise Invalid(f"line {line}: there is no work centre {value!r}")
            if f in fields and _differs(f, fields[f][0], value):
                raise Invalid(f"line {line}: {f} of the BOM of {sku} is {value} here but {fields[f][0]} on line "
                              f"{fields[f][1]}")
            fields.setdefault(f, (value, line))
    parsed = [_parse(BomIn, first[sku], {"item_sku": sku, "lines": lines[sku], **{f: v for f, (v, _) in head[sku].items()}},
                     {f: n for f, (_, n) in head[sku].items()}) for sku in first]
    saved = boms.save_boms(session, parsed, where=lambda sku: f"line {first[sku]}" if sku in first else None)
    created = sum(s.created for s in saved)
    return {"rows": len(rows), "boms": len(saved), "created": created, "replaced": len(saved) - created}


def _differs(field: str, a: str, b: str) -> bool:
    if field in ("labour_hours", "labour_rate", "overhead_rate"):
        try:
            return Decimal(a) != Decimal(b)
        except ArithmeticError:
            return a != b
    return a != b
