"""Items and BOMs as CSV files: exported whole, imported all or none. Every row is checked before
anything is stored; the first bad one is refused naming its line (the header is line 1)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.core.csvfile import parse as _parse
from domain.core.csvfile import read as _rows
from domain.core.csvfile import write as _write
from domain.core.currencies import Currency
from domain.core.errors import DomainError, Invalid
from domain.core.limits import MAX_QTY
from domain.core.money import MAX_AMOUNT
from domain.core.names import checked_key, name_key
from domain.core.numbers import PlainDecimal, PlainInt
from domain.inventory import stock, uoms
from domain.inventory.tables import Item, StockBalance, StockLedgerEntry
from domain.manufacturing import boms
from domain.manufacturing.rules import BomIn, BomLineIn, ItemFields
from domain.manufacturing.tables import BomLineRow, BomRow, WorkCentre
from domain.parties import master
from domain.parties.tables import Customer, Supplier

ITEM_COLUMNS = ("sku", "name", "kind", "uom", "standard_cost", "lead_time_days", "safety_stock", "min_order_qty",
                "order_multiple", "default_supplier")
BOM_COLUMNS = ("item_sku", "component_sku", "qty", "scrap_pct", "labour_hours", "labour_rate", "overhead_rate",
               "work_centre", "issue_method")
BOM_HEAD = ("labour_hours", "labour_rate", "overhead_rate", "work_centre", "issue_method")  # per BOM, not per line
CUSTOMER_COLUMNS = ("name", "credit_limit", "currency", "payment_terms_days")
SUPPLIER_COLUMNS = ("name", "currency", "payment_terms_days")
STOCK_COLUMNS = ("sku", "qty", "unit_cost")
# The file format (header, line numbers, formula-safe cells): domain.core.csvfile.

Progress = Callable[[int], None]  # told the rows done so far
Errors = list[tuple[int, str]]  # (line, sentence) of every bad row
_LINE = re.compile(r"^line (\d+): (.*)$", re.S)


@contextmanager
def _row(line: int, errors: Errors | None) -> Iterator[None]:
    """One row's checks: a refusal raised (errors is None) or noted with its line and the next row checked."""
    try:
        yield
    except DomainError as e:
        if errors is None:
            raise
        errors.append(split_line(e.message, line))


def split_line(message: str, line: int = 1) -> tuple[int, str]:
    """("line 4: qty: …" → (4, "qty: …"))."""
    m = _LINE.match(message)
    return (int(m.group(1)), m.group(2)) if m else (line, message)


def _tick(progress: Progress | None, n: int) -> None:
    if progress is not None and (n % 50 == 0):
        progress(n)


# -- items ------------------------------------------------------------------------------------------

def export_items(session: Session) -> str:
    q = (select(Item.sku, Item.name, Item.kind, Item.uom, Item.standard_cost, Item.lead_time_days,
                Item.safety_stock, Item.min_order_qty, Item.order_multiple, Supplier.name)
         .outerjoin(Supplier, Supplier.id == Item.default_supplier_id).order_by(Item.sku))
    return _write(ITEM_COLUMNS, iter(session.execute(q)))


def import_items(session: Session, text: str, progress: Progress | None = None,
                 errors: Errors | None = None) -> dict[str, int]:
    """New SKUs are created, known ones updated in the columns the file has; all or none. With `errors`, every
    bad row is added there (nothing is stored then) instead of the first one refused."""
    header, rows = _rows(text, ITEM_COLUMNS, ("sku", "name", "kind"))
    # A supplier is named as names compare (domain.names.name_key): case, spacing, look-alike letters aside.
    suppliers = dict(session.execute(select(Supplier.name_key, Supplier.id)).all())
    existing = {i.sku: i for i in session.execute(select(Item)).unique().scalars()}
    with_bom = set(session.execute(select(Item.sku).join(BomRow, BomRow.item_id == Item.id)).scalars())
    seen: dict[str, int] = {}
    units = uoms.known(session)
    parsed: list[tuple[ItemFields, int | None]] = []
    for n, (line, row) in enumerate(rows, start=1):
        with _row(line, errors):
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
        _tick(progress, n)
    if errors:
        return {"rows": len(rows), "created": 0, "updated": 0}
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


def import_boms(session: Session, text: str, progress: Progress | None = None,
                errors: Errors | None = None) -> dict[str, int]:
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
    for n, (line, row) in enumerate(rows, start=1):
        _tick(progress, n)
        with _row(line, errors):
            sku = row["item_sku"]
            if not sku:
                raise Invalid(f"line {line}: item_sku is empty")
            kind = items.get(sku)
            if kind is None:
                raise Invalid(f"line {line}: there is no item {sku!r}")
            if kind != "manufactured":
                raise Invalid(f"line {line}: {sku} is a purchased item; only a manufactured item has a BOM")
            bl = _parse(BomLineIn, line, {k: row[k] for k in ("component_sku", "qty", "scrap_pct") if row.get(k)})
            if bl.component_sku not in items:
                raise Invalid(f"line {line}: there is no item {bl.component_sku!r} (a component of {sku})")
            if (sku, bl.component_sku) in where_line:
                raise Invalid(f"line {line}: {bl.component_sku} is in the BOM of {sku} on line "
                              f"{where_line[sku, bl.component_sku]} already; add the quantities together")
            fields = head.setdefault(sku, {})
            for f in BOM_HEAD:
                value = row.get(f, "")
                if not value:
                    continue
                if f == "work_centre" and value not in centres:
                    raise Invalid(f"line {line}: there is no work centre {value!r}")
                if f in fields and _differs(f, fields[f][0], value):
                    raise Invalid(f"line {line}: {f} of the BOM of {sku} is {value} here but {fields[f][0]} on "
                                  f"line {fields[f][1]}")
            for f in BOM_HEAD:
                if row.get(f, "") and f not in fields:
                    fields[f] = (row[f], line)
            first.setdefault(sku, line)
            where_line[sku, bl.component_sku] = line
            lines.setdefault(sku, []).append(bl)
    if errors:
        return {"rows": len(rows), "boms": 0, "created": 0, "replaced": 0}
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


# -- customers and suppliers ------------------------------------------------------------------------

class CustomerRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    credit_limit: PlainDecimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, decimal_places=2,
                                              description="none: the default credit limit of a new customer")
    currency: Currency = "USD"
    payment_terms_days: PlainInt = Field(default=30, ge=0, le=365)


class SupplierRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    currency: Currency = "USD"
    payment_terms_days: PlainInt = Field(default=30, ge=0, le=365)


def _import_parties(session: Session, text: str, cls: type[Customer] | type[Supplier], model: type[BaseModel],
                    columns: tuple[str, ...], progress: Progress | None, errors: Errors | None) -> dict[str, int]:
    """New customers or suppliers, all or none; a name that looks like one stored or one on another line is
    refused (as domain.names compares names)."""
    what = cls.__name__.lower()
    _, rows = _rows(text, columns, ("name",))
    default_limit = master.settings(session).default_credit_limit
    stored = set(session.execute(select(cls.name_key)).scalars())
    seen: dict[str, int] = {}
    new: list[Customer | Supplier] = []
    for n, (line, row) in enumerate(rows, start=1):
        _tick(progress, n)
        with _row(line, errors):
            data = _parse(model, line, {k: v.upper() if k == "currency" else v for k, v in row.items() if v != ""})
            try:
                name, key = checked_key(data.name, f"{what} name")  # type: ignore[attr-defined]
            except Invalid as e:
                raise Invalid(f"line {line}: {e.message}") from None
            if key in stored:
                raise Invalid(f"line {line}: {what} {name!r} exists already")
            if key in seen:
                raise Invalid(f"line {line}: {name} is on line {seen[key]} already")
            seen[key] = line
            fields = {**data.model_dump(), "name": name}
            if "credit_limit" in fields and fields["credit_limit"] is None:
                fields["credit_limit"] = default_limit
            new.append(cls(**fields))
    if errors:
        return {"rows": len(rows), "created": 0}
    session.add_all(new)
    session.flush()
    return {"rows": len(rows), "created": len(new)}


def import_customers(session: Session, text: str, progress: Progress | None = None,
                     errors: Errors | None = None) -> dict[str, int]:
    return _import_parties(session, text, Customer, CustomerRow, CUSTOMER_COLUMNS, progress, errors)


def import_suppliers(session: Session, text: str, progress: Progress | None = None,
                     errors: Errors | None = None) -> dict[str, int]:
    return _import_parties(session, text, Supplier, SupplierRow, SUPPLIER_COLUMNS, progress, errors)


# -- opening stock ----------------------------------------------------------------------------------

class StockRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=60)
    qty: PlainDecimal = Field(gt=0, le=MAX_QTY, decimal_places=4)
    unit_cost: PlainDecimal | None = Field(default=None, ge=0, le=MAX_AMOUNT, decimal_places=4,
                                           description="none: the item's standard cost")


def import_opening_stock(session: Session, text: str, actor: str, batch: str, progress: Progress | None = None,
                         errors: Errors | None = None) -> dict[str, int | Decimal]:
    """What is on the shelves when the company starts: one stock move per row (at its unit cost, else the item's
    standard cost) and one journal entry for the lot (Dr inventory, Cr opening balance equity), all or none. An
    item that has stock moves already is refused (a count corrects it: a stock adjustment). `batch` names the
    import: the moves' keys, so the same import cannot be booked twice."""
    _, rows = _rows(text, STOCK_COLUMNS, ("sku", "qty"))
    items = {i.sku: i for i in session.execute(select(Item)).unique().scalars()}
    moved = set(session.execute(select(StockLedgerEntry.item_id).distinct()).scalars())
    seen: dict[str, int] = {}
    parsed: list[tuple[int, StockRow, Decimal]] = []
    for line, row in rows:
        with _row(line, errors):
            r = _parse(StockRow, line, {k: v for k, v in row.items() if v != ""})
            item = items.get(r.sku)
            if item is None:
                raise Invalid(f"line {line}: there is no item {r.sku!r}")
            if r.sku in seen:
                raise Invalid(f"line {line}: {r.sku} is on line {seen[r.sku]} already")
            seen[r.sku] = line
            if item.id in moved:
                raise Invalid(f"line {line}: {r.sku} has stock movements already; correct it with a stock "
                              "adjustment")
            try:
                uoms.check_lines(session, [(r.sku, r.qty)], "the quantity")
            except Invalid as e:
                raise Invalid(f"line {line}: {e.message}") from None
            parsed.append((line, r, r.unit_cost if r.unit_cost is not None else item.standard_cost))
    if errors:
        return {"rows": len(rows), "value": Decimal(0)}
    total = Decimal(0)
    for n, (line, r, cost) in enumerate(parsed, start=1):
        entry = stock.move(session, r.sku, r.qty, unit_cost=cost, voucher_type="opening_stock",
                           voucher_no=batch[:60], key=f"opening:{batch}:{line}"[:200], reason="opening stock",
                           actor=actor)
        total += entry.value_change
        _tick(progress, n)
    if total:
        draft = accounting.entry(f"Opening stock ({len(parsed)} items)", {accounting.INVENTORY: total},
                                 {accounting.OPENING_EQUITY: total})
        ledger.post(session, draft, "opening_stock", batch[:60], f"opening:{batch}"[:200])
    return {"rows": len(rows), "value": total}


# -- the import page's files ------------------------------------------------------------------------

KINDS = ("items", "boms", "customers", "suppliers", "opening_stock")
COLUMNS = {"items": ITEM_COLUMNS, "boms": BOM_COLUMNS, "customers": CUSTOMER_COLUMNS,
           "suppliers": SUPPLIER_COLUMNS, "opening_stock": STOCK_COLUMNS}
PREVIEW_ROWS = 20


@dataclass
class Preview:
    """A file as it would be imported: its first rows as read, how many there are, and every bad row."""

    kind: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    total: int = 0
    errors: Errors = field(default_factory=list)


class _Undo(Exception):
    """Leaves the trial run's savepoint, rolling back what it stored."""


def run(session: Session, kind: str, text: str, actor: str, batch: str, progress: Progress | None = None,
        errors: Errors | None = None) -> Mapping[str, int | Decimal]:
    """Import the file: everything in the caller's transaction, or a refusal (DomainError) and nothing."""
    if kind == "items":
        return import_items(session, text, progress, errors)
    if kind == "boms":
        return import_boms(session, text, progress, errors)
    if kind == "customers":
        return import_customers(session, text, progress, errors)
    if kind == "suppliers":
        return import_suppliers(session, text, progress, errors)
    if kind == "opening_stock":
        return import_opening_stock(session, text, actor, batch, progress, errors)
    raise Invalid(f"unknown kind of file {kind!r}; the kinds are {', '.join(KINDS)}")


def preview(session: Session, kind: str, text: str, actor: str) -> Preview:
    """Every row checked (each bad one noted with its line), then, when none is, the whole file tried in a
    savepoint that is rolled back (what only the whole file shows: a BOM cycle). Stores nothing."""
    out = Preview(kind, list(COLUMNS.get(kind, ())))
    try:
        header, rows = _rows(text, COLUMNS.get(kind, ()), ())
    except Invalid as e:
        out.errors.append(split_line(e.message))
        return out
    out.columns, out.rows, out.total = header, rows[:PREVIEW_ROWS], len(rows)
    errors: Errors = []
    try:
        with session.begin_nested():
            run(session, kind, text, actor, "preview", errors=errors)
            raise _Undo
    except _Undo:
        pass
    except DomainError as e:
        errors.append(split_line(e.message))
    out.errors = sorted(errors, key=lambda e: e[0])
    return out
