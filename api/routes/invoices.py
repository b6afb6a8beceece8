"""Invoices over HTTP: the list (customer invoices and supplier bills, by kind, status and party), one invoice with
its lines, payments, reminders and journal entries, and finance's write-off of a customer invoice (the cfo
approves it). Who sees what: finance, the cfo and admin every invoice; others those they own (a salesperson the
invoices of their orders, a buyer their bills); anyone else an empty list, and 404 for one invoice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import CurrentUser, PlatformDep, as_actor
from api.encoding import ok
from api.routes.common import Limit, Offset
from api.schemas import Body
from api.starters import customer_invoice
from domain.cash import invoicing
from domain.core.money import MAX_ID
from domain.core.numbers import PlainInt

router = APIRouter(prefix="/api", tags=["invoices"])


def _today() -> Any:
    return datetime.now(UTC).date()


@router.get("/invoices")
async def list_invoices(user: CurrentUser, platform: PlatformDep,
                        kind: str | None = Query(default=None, max_length=10),
                        status: str | None = Query(default=None, max_length=20),
                        party_id: Annotated[PlainInt | None, Query(ge=1, le=MAX_ID)] = None,
                        limit: Limit = 50, offset: Offset = 0) -> Any:
    return ok(await platform.read(lambda s: invoicing.invoices(
        s, user.username, user.roles, _today(), kind=kind or None, status=status or None, party_id=party_id,
        limit=limit, offset=offset)))


@router.get("/invoices/{number}")
async def get_invoice(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    def load(s: Session) -> dict[str, Any]:
        return invoicing.view(s, invoicing.visible_invoice(s, number, user.username, user.roles), _today())
    return ok(await platform.read(load))


class WriteOffIn(Body):
    reason: str = Field(min_length=1, max_length=500)


@router.post("/invoices/{number}/write-off", status_code=202)
async def write_off(number: str, body: WriteOffIn, user: CurrentUser, platform: PlatformDep) -> Any:
    """Finance asks; the cfo decides (an approval task). 202: the write-off waits for that decision."""
    await platform.glance(lambda s: invoicing.visible_invoice(s, number, user.username, user.roles))
    status = await customer_invoice.write_off(platform, as_actor(user), number, body.reason)
    return ok({"invoice_id": number, "status": status}, 202)
