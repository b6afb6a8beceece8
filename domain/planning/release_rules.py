"""Batch release of a stored MRP run (生产任务单批量新增 over many orders): the pure rules and the types the
MrpRelease process carries. A planned order is named `<run>-<n>` (its 1-based position in the run)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel

from domain.core.errors import Conflict, Invalid, NotFound

MAX_RELEASE = 1000  # planned orders in one release: each becomes a process (Temporal's child limit is 2,000)
_ID = re.compile(r"^(?P<run>.+)-(?P<n>[1-9][0-9]{0,6})$")


class ReleaseRequest(BaseModel):
    """What an MrpRelease process starts from: its number, the run and the planned orders (positions) it claims."""

    number: str
    run: str
    ns: list[int]
    requested_by: str


class ReleasePlan(BaseModel):
    """The claim's answer: the planned orders to make as production orders (positions, in order) and those to buy,
    grouped per default supplier (one requisition each)."""

    production: list[int]
    purchases: list[list[int]]

    @property
    def total(self) -> int:
        return len(self.production) + sum(len(g) for g in self.purchases)


class ReleaseProgress(BaseModel):
    """Where a release stands: how many of its planned orders are made so far, of how many; done at the end."""

    release_id: str
    run_id: str
    made: int
    total: int
    done: bool = False


def positions(run: str, ids: Iterable[str], count: int) -> list[int]:
    """The positions of the planned order ids named, in the order given; refused when one is of another run, not
    an id at all, named twice, or past the run's planned orders."""
    out: list[int] = []
    for pid in ids:
        m = _ID.match(pid.strip())
        if m is None:
            raise Invalid(f"{pid!r} is not a planned order id: ids look like {run}-1")
        if m["run"] != run:
            raise Invalid(f"planned order {pid} is of run {m['run']}, not of run {run}: release it from its own run")
        n = int(m["n"])
        if n > count:
            raise NotFound(f"run {run} has no planned order {pid}: its planned orders are {run}-1 to {run}-{count}"
                           if count else f"run {run} has no planned order {pid}: it planned nothing")
        if n in out:
            raise Invalid(f"planned order {pid} is named twice")
        out.append(n)
    return out


def check_releasable(run: str, *, what_if: bool, count: int, asked: list[int] | None,
                     released: dict[int, str | None]) -> list[int]:
    """The positions a release of `run` takes: those asked (all not yet released when none are named). Refused: a
    what-if run (its demand is not the company's), nothing to release, more than MAX_RELEASE at once, and planned
    orders already released or being released (`released`: position → what it became, None while being made),
    named with what they became."""
    if what_if:
        raise Conflict(f"run {run} is a what-if run: its planned orders answer a question and are not released; "
                       "run MRP over the open orders to release planned orders")
    if not count:
        raise Conflict(f"run {run} planned nothing: there is nothing to release")
    if asked is not None and not asked:
        raise Invalid("name at least one planned order to release (or none at all, to release every one)")
    if asked is None:
        asked = [n for n in range(1, count + 1) if n not in released]
        if not asked:
            raise Conflict(f"every planned order of run {run} is already released: nothing more is created")
    taken = [n for n in asked if n in released]
    if taken:
        raise Conflict("already released, nothing more is created: " + ", ".join(
            f"{run}-{n}" + (f" (as {released[n]})" if released[n] else " (being made)") for n in taken[:20])
            + (f" and {len(taken) - 20} more" if len(taken) > 20 else ""))
    if len(asked) > MAX_RELEASE:
        raise Invalid(f"{len(asked)} planned orders at once is too many: release at most {MAX_RELEASE} at a time")
    return asked


def totals(planned: Iterable[dict[str, object]]) -> dict[str, dict[str, Decimal | int]]:
    """Count, quantity and value (at standard cost, when the dicts carry `value`) per kind of planned order."""
    out: dict[str, dict[str, Decimal | int]] = {}
    for p in planned:
        t = out.setdefault(str(p["kind"]), {"count": 0, "qty": Decimal(0), "value": Decimal(0)})
        t["count"] = int(t["count"]) + 1
        t["qty"] = Decimal(t["qty"]) + Decimal(str(p["qty"]))
        t["value"] = Decimal(t["value"]) + Decimal(str(p.get("value") or 0))
    return out
