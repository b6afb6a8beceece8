"""Net-change MRP runs over the database: re-plan what changed since the latest stored run, from that run's
planning state kept in this process (domain/planning/net_change.py), and store the result as a run like any
other. Without a state to start from (the process has just started, another process or a full run stored a
later run, items, BOMs or the planning date changed), it is a full run, which keeps its state for the next.

The state lives in the API process's memory only: it is a cache of a stored run, never the record. A
net-change run gives exactly what a full run over the same data gives (the planner's property test), so
either may be asked for at any time."""

from __future__ import annotations

import gc
import threading
import weakref
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.planning import services as planning
from domain.planning.net_change import NetChangePlanner
from domain.planning.tables import MrpRun

FULL_SCOPE = planning.FULL_SCOPE
LARGE = 50_000  # planned orders: a state this large is set aside from the garbage collector (keep_aside)


@dataclass(slots=True)
class _State:
    database: weakref.ref[Any]  # the engine the run is stored in (run numbers are per database)
    run: str  # the stored run the planner's state is that of
    planner: NetChangePlanner


_state: _State | None = None
_lock = threading.Lock()  # one re-plan at a time: the planner is changed in place


def _latest_run(session: Session) -> str | None:
    """The latest stored run over all open demand (what-if runs plan other data)."""
    return session.execute(select(MrpRun.number).where(MrpRun.what_if.is_(False))
                           .order_by(MrpRun.id.desc()).limit(1)).scalar()


def run_net_change(session: Session, *, as_of: date, actor: str) -> tuple[MrpRun, int | None]:
    """A run over every open order, re-planning from the latest run's state when this process holds it; the
    stored run and how many items were netted again (None: it was a full run). Its scope says which."""
    global _state
    inputs = planning.mrp_inputs(session, as_of=as_of)
    with _lock:
        state, _state = _state, None  # dropped unless this run is stored: a failed store leaves no state
        if (state is not None and state.database() is session.get_bind() and state.run == _latest_run(session)
                and state.planner.plans_for(items=inputs["items"], boms=inputs["boms"], as_of=as_of)):
            planner = state.planner
            replanned: int | None = planner.apply(planner.changes_to(
                on_hand=inputs["on_hand"], reserved=inputs["reserved"], receipts=inputs["receipts"],
                demand=inputs["demand"]))
            scope = f"net change from {state.run} ({replanned} item{'' if replanned == 1 else 's'} re-planned)"
        else:
            planner = NetChangePlanner(**inputs)
            replanned = None
            scope = FULL_SCOPE
        result = planner.result()
        if replanned is None and len(result.planned_orders) >= LARGE:
            keep_aside()
        run = planning.store_run(session, result, as_of=as_of, scope=scope, what_if=False, actor=actor)
        _state = _State(weakref.ref(session.get_bind()), run.number, planner)
        return run, replanned


def keep_aside() -> None:
    """The state lives on for the next runs: the cyclic garbage collector would walk all of it again and again
    while later re-plans allocate (on a large company that takes longer than the re-plan). Collected once, then
    set aside with everything else alive now (gc.freeze: the collector leaves it alone; reference counting still
    frees the state when it is replaced)."""
    gc.collect()
    gc.freeze()


def forget() -> None:
    """Drop the state (tests; a process that wants its memory back)."""
    global _state
    with _lock:
        _state = None
