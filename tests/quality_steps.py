"""The inspection step a test walks through after receiving an item flagged for incoming inspection (the demo's
BLADE-SET, issue 20): ivan accepts every open lot of the purchase order, so the goods reach stock as before."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from api.platform import Platform
from api.starters import inspection
from domain.core.db import Database
from domain.inventory.quarantine_tables import QuarantineLot
from domain.quality.rules import InspectionIn
from tests.helpers import actor


async def accept_all(p: Platform, db: Database, po_number: str, tries: int = 400) -> list[str]:
    """ivan accepts the whole of each open inspection lot of `po_number` (once its process is open)."""
    for _ in range(tries):
        with db.read() as s:
            lots = list(s.execute(select(QuarantineLot).where(QuarantineLot.order_number == po_number,
                                                              QuarantineLot.status == "open")).scalars())
            ready = [(lot.number, lot.qty) for lot in lots if lot.process_id]
        if lots and len(ready) == len(lots):
            for number, qty in ready:
                await inspection.record(p, actor(db, "ivan"), number, InspectionIn(accepted_qty=qty))
            return [n for n, _ in ready]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no inspection of {po_number} opened")


async def accept_all_http(stack: Any, po_number: str, tries: int = 400) -> list[str]:
    """The same through the API, as ivan."""
    for _ in range(tries):
        lots = [x for x in (await stack.as_("ivan", "GET", "/api/inspections", params={"status": "open"})).json()
                if x["order_number"] == po_number]
        if lots and all(x["process_id"] for x in lots):
            for lot in lots:
                r = await stack.as_("ivan", "POST", f"/api/inspections/{lot['number']}/result",
                                    json={"accepted_qty": lot["qty"]})
                assert r.status_code == 200, r.text
            return [x["number"] for x in lots]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no inspection of {po_number} opened")
