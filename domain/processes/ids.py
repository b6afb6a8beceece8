"""Every process's workflow id, formed here and nowhere else.

A process's workflow id is its business key (DESIGN, rule 6: `sales-order-SO-00042`), so starting the same
document twice finds the running process instead of a second one. `prefix` keeps the keys of several databases
apart on one Temporal (the tests give each its task queue and "/"); in production it is "".

Pure and deterministic: the API, the domain's services and the workflows (through
`workflow.unsafe.imports_passed_through()`) all form ids with it. Recorded histories hold these ids: a change to
a formula breaks every running process and the replay tests, so a formula never changes; a new kind of process
gets a new function."""

from __future__ import annotations

import hashlib

SALES_ORDER = "sales-order-"


def expense_claim(number: str, prefix: str = "") -> str:
    """`expense-claim-EC-00017`: the ExpenseClaim process of claim `number`."""
    return f"{prefix}expense-claim-{number}"


def purchase(number: str, prefix: str = "") -> str:
    """`purchase-PR-00003`: the Purchase process of requisition `number` (submitted, or planned by MRP)."""
    return f"{prefix}purchase-{number}"


def lead(number: str, prefix: str = "") -> str:
    """`lead-LD-00001`: the LeadToOrder process of lead `number` (its opportunity goes on in the same process)."""
    return f"{prefix}lead-{number}"


def quotation(number: str, prefix: str = "") -> str:
    """`quotation-QT-00005`: the Quotation process (a child of its opportunity's LeadToOrder)."""
    return f"{prefix}quotation-{number}"


def sales_order(number: str, prefix: str = "") -> str:
    """`sales-order-SO-00042`: the OrderFulfilment process of sales order `number` (entered, or won by a quotation)."""
    return f"{prefix}{SALES_ORDER}{number}"


def production_order(number: str, prefix: str = "") -> str:
    """`production-order-MO-00007`: the ProductionOrder process of production order `number`."""
    return f"{prefix}production-order-{number}"


def invoice(number: str, prefix: str = "") -> str:
    """`invoice-INV-00012`: the CustomerInvoice or SupplierInvoice process of invoice `number` (INV-, CN-, BILL-,
    DN-: the numbering series keep the kinds apart)."""
    return f"{prefix}invoice-{number}"


def payment(direction: str, party_id: int, reference: str, prefix: str = "") -> str:
    """`payment-in-7-3f2a…`: the Payment process of `reference` from (or to) party `party_id`. The same reference
    from the same party is one payment, so its id is formed from them (hashed: a reference may hold any text)."""
    digest = hashlib.sha256(reference.encode()).hexdigest()[:20]
    return f"{prefix}payment-{direction}-{party_id}-{digest}"


def sales_return(number: str, prefix: str = "") -> str:
    """`sales-return-RN-00002`: the SalesReturn process of return note `number`."""
    return f"{prefix}sales-return-{number}"


def supplier_credit_note(number: str, prefix: str = "") -> str:
    """`supplier-credit-note-DN-00003`: the PurchaseReturn process of supplier credit note `number` (goods sent
    back to the supplier, or a price correction, against a posted bill)."""
    return f"{prefix}supplier-credit-note-{number}"


def period_close(period: str, prefix: str = "") -> str:
    """`period-close-2026-11`: the month-end close of `period` (a closed run of it may be started again after a
    reopen)."""
    return f"{prefix}period-close-{period}"


def form_request(number: str, prefix: str = "") -> str:
    """`form-request-FR-00001`: the FormRequest process of request `number` (filed on a form type an admin made)."""
    return f"{prefix}form-request-{number}"


def prefix_of_sales_order(process_id: str) -> str:
    """The prefix a sales order's process id was formed with ("" for one not formed by `sales_order`): its
    fulfilment's children (production orders, purchases) are keyed with the same prefix."""
    return process_id[:process_id.index(SALES_ORDER)] if SALES_ORDER in process_id else ""


MRP_RELEASE = "mrp-release-"


def mrp_release(number: str, prefix: str = "") -> str:
    """`mrp-release-REL-00001`: the MrpRelease process that turns planned orders of a stored MRP run into orders."""
    return f"{prefix}{MRP_RELEASE}{number}"


def prefix_of_release(process_id: str) -> str:
    """The prefix a release's process id was formed with: the orders it makes are keyed with the same prefix."""
    return process_id[:process_id.index(MRP_RELEASE)] if MRP_RELEASE in process_id else ""


# --- approval children: keyed under their parent's id, one per approval the parent asks for ------------------

def approval(process_id: str) -> str:
    """The approval of a claim or a requisition (its one approval chain)."""
    return f"{process_id}/approval"


def discount_approval(process_id: str) -> str:
    """A quotation's discount (or price) approval."""
    return f"{process_id}/discount-approval"


def credit_approval(process_id: str) -> str:
    """Finance's approval of a quotation's or a sales order's customer over credit."""
    return f"{process_id}/credit-approval"


def change_approval(process_id: str, n: int) -> str:
    """The approval of a production order's `n`th change request."""
    return f"{process_id}/change-{n}"


def write_off_approval(process_id: str) -> str:
    """The cfo's approval of writing an invoice off."""
    return f"{process_id}/write-off"


# --- quality (issue 20, F) --------------------------------------------------------------------------------------

INSPECTION = "inspection-"


def inspection(lot: str, prefix: str = "") -> str:
    """`inspection-IL-00001`: the Inspection process of quarantine lot `lot`."""
    return f"{prefix}{INSPECTION}{lot}"


def prefix_of(process_id: str, kind: str) -> str:
    """The prefix a process id of `kind` ("purchase-", "production-order-") was formed with: the processes it
    starts (an inspection of what it received) are keyed with the same prefix."""
    return process_id[:process_id.index(kind)] if kind in process_id else ""
