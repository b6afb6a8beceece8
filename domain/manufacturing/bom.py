"""Bills of materials: their lines, the quantity a parent needs of a component (scrap included),
cycle detection that names the path, and low-level codes (the deepest level an item appears at,
the order MRP nets items in). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from math import gcd
from typing import Literal

from domain.core.errors import Invalid

Q4 = Decimal("0.0001")  # quantities are kept to four places (the database's precision)
IssueMethod = Literal["kitted", "backflush"]


def units(q: Decimal, what: str) -> int:
    """A quantity as an integer of 1/10,000ths (Q4), as MRP and kitting compute; refuses more than four
    places."""
    n = q.scaleb(4)
    i = int(n)
    if i != n:
        raise Invalid(f"{what}: {q} has more than four decimal places")
    return i


@dataclass(frozen=True, slots=True)
class BomLine:
    component: str
    qty: Decimal  # per one unit of the parent
    scrap_pct: Decimal = Decimal(0)  # extra consumed as scrap, in % of `qty`


@dataclass(frozen=True, slots=True)
class Bom:
    item: str
    lines: tuple[BomLine, ...]
    labour_hours: Decimal = Decimal(0)  # per one unit of the parent
    issue_method: IssueMethod = "kitted"
    labour_rate: Decimal = Decimal(0)  # per labour hour (the BOM's own, else its work centre's hourly cost)
    overhead_rate: Decimal = Decimal(0)  # per labour hour
    work_centre: str | None = None


def need(parent_qty: Decimal, line: BomLine) -> Decimal:
    """What making `parent_qty` of the parent consumes of the line's component, scrap included, rounded
    up to four places (never under-issue)."""
    gross = parent_qty * line.qty
    if line.scrap_pct:
        gross += gross * line.scrap_pct / 100
    return gross.quantize(Q4, rounding=ROUND_CEILING)


def need_ratio(qty: Decimal, scrap_pct: Decimal) -> tuple[int, int]:
    """`need` of a line (its qty and scrap %) as an integer ratio n/d in lowest terms, for planning in units of
    1/10,000: need in units = ceil(parent in units × n / d), exactly what `need` computes."""
    n, d = (qty * (100 + scrap_pct)).as_integer_ratio()
    d *= 100
    g = gcd(n, d)
    return n // g, d // g


def check_lines(item: str, lines: Iterable[BomLine]) -> None:
    """One BOM on its own: positive quantities, scrap 0–100 %, each component once, not itself."""
    seen: set[str] = set()
    for ln in lines:
        if ln.component == item:
            raise Invalid(f"BOM of {item}: {item} cannot be its own component")
        if ln.component in seen:
            raise Invalid(f"BOM of {item}: {ln.component} is listed twice; add the quantities together")
        seen.add(ln.component)
        if not ln.qty > 0:
            raise Invalid(f"BOM of {item}: the quantity of {ln.component} must be above zero")
        if not 0 <= ln.scrap_pct < 100:
            raise Invalid(f"BOM of {item}: the scrap of {ln.component} must be from 0 to under 100 %")
    if not seen:
        raise Invalid(f"BOM of {item}: a BOM needs at least one line")


def find_cycle(boms: Mapping[str, Bom]) -> list[str] | None:
    """A path that leads back to where it started (["A", "B", "C", "A"]), or None. Iterative depth-first
    search, so a deep BOM does not hit Python's recursion limit."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in boms:
        if state.get(root):
            continue
        path: list[str] = [root]
        stack = [iter(boms[root].lines)]
        state[root] = 1
        while stack:
            line = next(stack[-1], None)
            if line is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            child = line.component
            mark = state.get(child)
            if mark == 1:
                return [*path[path.index(child):], child]
            if mark is None and child in boms:
                state[child] = 1
                path.append(child)
                stack.append(iter(boms[child].lines))
            elif mark is None:
                state[child] = 2  # a leaf: purchased, no BOM
    return None


def check_boms(boms: Mapping[str, Bom], known: Iterable[str]) -> None:
    """A set of BOMs as a whole: every component a known item, and no cycle at any depth; the refusal
    names the path."""
    items = set(known)
    for bom in boms.values():
        if bom.item not in items:
            raise Invalid(f"there is no item {bom.item} to have a BOM")
        check_lines(bom.item, bom.lines)
        for ln in bom.lines:
            if ln.component not in items:
                raise Invalid(f"BOM of {bom.item}: there is no item {ln.component}")
    cycle = find_cycle(boms)
    if cycle:
        raise Invalid(f"BOM cycle: {' → '.join(cycle)}")


def low_level_codes(boms: Mapping[str, Bom], items: Iterable[str]) -> dict[str, int]:
    """0 for items no BOM uses; otherwise one more than the deepest parent that uses it. Computed in
    topological order (Kahn), linear in items + lines; the BOMs must be free of cycles."""
    codes = dict.fromkeys(items, 0)
    parents_left: dict[str, int] = dict.fromkeys(codes, 0)
    for bom in boms.values():
        for ln in bom.lines:
            parents_left[ln.component] = parents_left.get(ln.component, 0) + 1
            codes.setdefault(ln.component, 0)
    ready = [sku for sku, n in parents_left.items() if n == 0]
    while ready:
        sku = ready.pop()
        parent = boms.get(sku)
        if parent is None:
            continue
        for ln in parent.lines:
            c = ln.component
            if codes[c] < codes[sku] + 1:
                codes[c] = codes[sku] + 1
            parents_left[c] -= 1
            if parents_left[c] == 0:
                ready.append(c)
    if any(n > 0 for n in parents_left.values()):
        raise Invalid(f"BOM cycle: {' → '.join(find_cycle(boms) or ['?'])}")
    return codes
