"""What `--demo` loads for quality (issue 20): blade sets are inspected when they come in, so a receipt of them
waits in quarantine for ivan (the warehouse) to inspect."""

from __future__ import annotations

from sqlalchemy.orm import Session

from domain.inventory import stock

INSPECTED_INCOMING = ("BLADE-SET",)


def load(session: Session) -> None:
    for sku in INSPECTED_INCOMING:
        stock.item_by_sku(session, sku).inspect_incoming = True
    session.flush()
