"""The supplier invoice process (workflows/supplier_invoice.py): enter a supplier's bill, or preview its match."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.platform import Platform
from domain import permissions
from domain.cash import bills
from domain.cash import services as cash
from domain.core.errors import Invalid
from domain.org.people import Actor
from domain.permissions import Action
from domain.processes import ids
from workflows.common import search_attributes
from workflows.supplier_invoice import SupplierInvoice


def may_enter(actor: Actor) -> None:
    permissions.check(actor.roles, Action.SUPPLIER_INVOICE_ENTER, "only a buyer or finance enters a supplier's bill")


async def preview(platform: Platform, actor: Actor, bill: bills.BillIn) -> dict[str, Any]:
    """The match the bill would get, stored nowhere (the bill entry page shows it before it is entered)."""
    may_enter(actor)

    def look(s: Session) -> dict[str, Any]:
        checked = bills.check(s, bill)
        out: dict[str, Any] = {"supplier": checked.supplier, "purchase_order_id": checked.purchase_order_number,
                               "currency": checked.currency, "existing": checked.existing}
        if checked.match is not None:
            m = checked.match
            out |= {"match": "matched" if m.matched else "mismatch", "detail": m.model_dump()}
            if not m.matched:
                steps = bills.chain(s, actor.username)
                out["approvers"] = [st.label for st in steps]
                out["approver_people"] = [st.eligible for st in steps]
        return out

    return await platform.read(look)


async def enter(platform: Platform, actor: Actor, bill: bills.BillIn) -> tuple[dict[str, Any], bool]:
    """Check the bill (supplier, order, reference, match: a refusal stores nothing), number it once per supplier
    and reference, start its process and answer once the bill is recorded. The same reference again → the bill
    entered first (False: not created now)."""
    may_enter(actor)

    def checked(s: Session) -> tuple[bills.Checked, list[Any]]:
        c = bills.check(s, bill)
        if c.existing is not None:
            return c, []
        assert c.match is not None
        # Resolved here, once: a chain nobody could approve is refused now, and the process takes this one.
        return c, ([] if c.match.matched else bills.chain(s, actor.username))

    c, steps = await platform.read(checked)
    if (first := c.existing) is not None:
        return await platform.read(lambda s: bills.entered(cash.by_number(s, first), existing=True)), False
    if c.match is None:
        raise Invalid("the bill could not be matched")
    number = await platform.write(bills.reserve_number, bill.supplier_id, bill.supplier_ref)
    done = await platform.read(bills.by_number_or_none, number)
    if done is not None:  # the same bill, entered at the same moment, got in first (and may have ended already)
        return await platform.read(lambda s: bills.entered(cash.by_number(s, number), existing=True)), False
    draft = bills.BillDraft(number=number, supplier_id=c.supplier_id, supplier=c.supplier,
                            purchase_order_number=c.purchase_order_number, supplier_ref=bill.supplier_ref,
                            issued_on=bill.issued_on, currency=c.currency, lines=bill.lines,
                            entered_by=actor.username, owner=c.owner or actor.username, match=c.match, steps=steps)
    await platform.start_and_update(
        SupplierInvoice.run, draft, SupplierInvoice.recorded_state, workflow_type="SupplierInvoice",
        id=ids.invoice(number, platform.id_prefix),
        search_attributes=search_attributes(bills.PROCESS_TYPE, number, c.owner or actor.username, c.match.billed))
    return await platform.read(lambda s: bills.entered(cash.by_number(s, number))), True
