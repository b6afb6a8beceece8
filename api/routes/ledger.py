"""The ledger: trial balance and journal, for finance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from api.auth import Principal
from api.deps import PlatformDep, require
from api.encoding import ok
from api.routes.common import Limit, Offset
from domain.accounting import ledger
from domain.accounting.tables import JournalEntry
from domain.permissions import Action

router = APIRouter(prefix="/api/ledger", tags=["ledger"])
Finance = Annotated[Principal, Depends(require(Action.LEDGER_READ))]


@router.get("/trial-balance")
async def trial_balance(user: Finance, platform: PlatformDep) -> Any:
    return ok(await platform.read(ledger.trial_balance))


@router.get("/journal")
async def journal(user: Finance, platform: PlatformDep,
                  voucher_no: Annotated[str | None, Query(max_length=60)] = None,
                  limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(JournalEntry)
    if voucher_no:
        q = q.where(JournalEntry.voucher_no == voucher_no)
    q = q.order_by(JournalEntry.id.desc()).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [
        {"id": e.id, "memo": e.memo, "voucher_type": e.voucher_type, "voucher_no": e.voucher_no,
         "posted_at": e.posted_at,
         "lines": [{"account": ln.account_code, "debit": ln.debit, "credit": ln.credit} for ln in e.lines]}
        for e in s.execute(q).scalars()]))
