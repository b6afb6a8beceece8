"""The books as finance reads them: the journal (entries with their lines; a filter by date, account and document;
paging) and the trial balance (as of a day), for whoever may read the ledger (the JSON API's rule)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import _
from api.routes.common import Offset
from api.routes.ui.pages import Viewer, ViewerDep, not_possible, page_router, render
from domain.accounting import ledger
from domain.accounting.tables import Account, JournalEntry, JournalLine
from domain.core.errors import Forbidden, Invalid
from domain.permissions import Action

router = page_router()
PAGE_SIZE = 50


def _day(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(_("%(what)s must be a date as YYYY-MM-DD, not \u201c%(text)s\u201d", what=what,
                        text=text[:20])) from None


async def _refuse_unless_reader(v: Viewer) -> Response | None:
    if v.user.may(Action.LEDGER_READ):
        return None
    return await not_possible(v, Forbidden(_("the ledger is for finance, the cfo and admin")))


@router.get("/journal")
async def journal(v: ViewerDep, from_: Annotated[str, Query(alias="from", max_length=20)] = "",
                  to: Annotated[str, Query(max_length=20)] = "", account: Annotated[str, Query(max_length=20)] = "",
                  document: Annotated[str, Query(max_length=60)] = "", offset: Offset = 0) -> Response:
    if refused := await _refuse_unless_reader(v):
        return refused
    filters = {"from": from_, "to": to, "account": account.strip(), "document": document.strip()}
    try:
        start, end = _day(from_, _("the first day")), _day(to, _("the last day"))
    except Invalid as e:
        return await not_possible(v, e)
    q = select(JournalEntry)
    if start:
        q = q.where(JournalEntry.posted_on >= start)
    if end:
        q = q.where(JournalEntry.posted_on <= end)
    if filters["account"]:
        q = q.where(JournalEntry.id.in_(select(JournalLine.entry_id).where(JournalLine.account_code == filters["account"])))
    if filters["document"]:
        q = q.where(JournalEntry.voucher_no == filters["document"])
    q = q.order_by(JournalEntry.posted_on.desc(), JournalEntry.id.desc()).limit(PAGE_SIZE + 1).offset(offset)

    def load(s: Session) -> dict[str, Any]:
        names: dict[str, str] = dict(s.execute(select(Account.code, Account.name)).all())
        entries = [{"id": e.id, "memo": e.memo, "voucher_type": e.voucher_type, "voucher_no": e.voucher_no,
                    "posted_on": e.posted_on, "posted_at": e.posted_at,
                    "lines": [{"account": ln.account_code, "name": names.get(ln.account_code, ""), "debit": ln.debit,
                               "credit": ln.credit} for ln in e.lines]}
                   for e in s.execute(q).scalars()]
        return {"entries": entries, "accounts": sorted(names.items())}

    data = await v.platform.read(load)
    more = len(data["entries"]) > PAGE_SIZE
    query = urlencode({k: val for k, val in filters.items() if val})
    base = f"/journal?{query}&" if query else "/journal?"
    return await render(v, "journal.html", section="finance", entries=data["entries"][:PAGE_SIZE],
                        accounts=data["accounts"], filters=filters, offset=offset, filtered=bool(query),
                        newer=f"{base}offset={max(offset - PAGE_SIZE, 0)}" if offset else "",
                        older=f"{base}offset={offset + PAGE_SIZE}" if more else "")


@router.get("/trial-balance")
async def trial_balance(v: ViewerDep, as_of: Annotated[str, Query(max_length=20)] = "") -> Response:
    if refused := await _refuse_unless_reader(v):
        return refused
    try:
        day = _day(as_of, _("the day"))
    except Invalid as e:
        return await not_possible(v, e)
    tb = await v.platform.read(ledger.trial_balance, day)
    return await render(v, "trial_balance.html", section="finance", tb=tb, as_of=as_of if day else "",
                        balanced=tb["debit_total"] == tb["credit_total"])
