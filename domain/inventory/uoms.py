"""Units of measure: which exist and which are whole, and the checks that read them (issue 15).

Without the demo the table may be empty: the defaults of domain.uoms answer for every code the table lacks,
and `ensure_defaults` writes them (the demo loader calls it)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.core.errors import Invalid
from domain.inventory.tables import Item, Uom
from domain.inventory.units import DEFAULT_UOMS, check_quantity


def ensure_defaults(session: Session) -> None:
    """Add the default units the table does not have yet (an admin's own rows are left as they are)."""
    have = set(session.execute(select(Uom.code)).scalars())
    for code, (name, whole) in DEFAULT_UOMS.items():
        if code not in have:
            session.add(Uom(code=code, name=name, whole=whole))
    session.flush()


def known(session: Session) -> dict[str, bool]:
    """code → whole, for every unit: the table's, over the defaults."""
    rows = {u.code: u.whole for u in session.execute(select(Uom)).scalars()}
    return {**{code: whole for code, (_n, whole) in DEFAULT_UOMS.items()}, **rows}


def check_uom(session: Session, code: str, units: dict[str, bool] | None = None) -> None:
    """An item's unit must be one that exists (`units`: known(session), when the caller has it already)."""
    units = known(session) if units is None else units
    if code not in units:
        raise Invalid(f"there is no unit of measure {code[:20]!r}; known units: {', '.join(sorted(units))}")


def check_lines(session: Session, lines: Iterable[tuple[str, Decimal]], what: str = "the quantity") -> None:
    """Each (sku, qty) in whole units where the item's unit is whole (unknown SKUs are left to the caller)."""
    pairs = list(lines)
    if not pairs:
        return
    units = known(session)
    rows = session.execute(select(Item.sku, Item.uom).where(Item.sku.in_({sku for sku, _ in pairs}))).all()
    uom_of = {r.sku: r.uom for r in rows}
    for sku, qty in pairs:
        uom = uom_of.get(sku)
        if uom is not None:
            check_quantity(qty, units.get(uom, False), uom=uom, what=f"{what} of {sku}")
