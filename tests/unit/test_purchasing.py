"""Requisitions, purchase orders and receipts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.accounting import rules as accounting
from domain.core.errors import Conflict, Invalid
from domain.purchasing.rules import (
    OrderLineState,
    OrderState,
    ReceiptLineIn,
    RequisitionLineIn,
    apply_receipt,
    receipt_entry,
    requisition_total,
)


def req(sku: str, qty: str, price: str) -> RequisitionLineIn:
    return RequisitionLineIn(sku=sku, qty=Decimal(qty), est_unit_price=Decimal(price))


def rcv(sku: str, qty: str) -> ReceiptLineIn:
    return ReceiptLineIn(sku=sku, qty=Decimal(qty))


def order() -> OrderState:
    return OrderState(number="PO-00001", lines=[
        OrderLineState(sku="MOTOR-200W", qty=Decimal(10), unit_price=Decimal("200.00")),
        OrderLineState(sku="BOLT-M8", qty=Decimal(1000), unit_price=Decimal("0.15")),
    ])


def received(state: OrderState) -> dict[str, Decimal]:
    return {ln.sku: ln.received_qty for ln in state.lines}


# --- requisitions ---------------------------------------------------------------------------------


def test_requisition_total() -> None:
    assert requisition_total([req("MOTOR-200W", "10", "200"), req("BOLT-M8", "1000", "0.15")]) == Decimal("2150.00")


def test_requisition_total_rounds_to_cents() -> None:
    assert requisition_total([req("A", "3", "0.3333")]) == Decimal("1.00")
    assert requisition_total([req("A", "1", "0.005")]) == Decimal("0.01")  # half up


def test_requisition_duplicate_sku_is_invalid() -> None:
    with pytest.raises(Invalid, match="each SKU may appear once"):
        requisition_total([req("A", "1", "1"), req("B", "1", "1"), req("A", "2", "1")])


def test_requisition_without_lines_is_invalid() -> None:
    with pytest.raises(Invalid, match="at least one line"):
        requisition_total([])


@pytest.mark.parametrize(("qty", "price"), [("0", "1"), ("-1", "1"), ("1", "-0.01"), ("1.00001", "1"),
                                             ("100000001", "1")])
def test_requisition_line_refuses_bad_numbers(qty: str, price: str) -> None:
    with pytest.raises(ValidationError):
        req("A", qty, price)


def test_requisition_line_refuses_empty_sku() -> None:
    with pytest.raises(ValidationError):
        req("", "1", "1")


# --- receipts ------------------------------------------------------------------------------------


def test_new_order_is_open() -> None:
    o = order()
    assert o.status == "open"
    assert not o.fully_received


def test_partial_then_full_receipt() -> None:
    o = order()
    partial = apply_receipt(o, [rcv("MOTOR-200W", "4")])
    assert received(partial) == {"MOTOR-200W": Decimal(4), "BOLT-M8": Decimal(0)}
    assert partial.status == "partially_received"
    assert received(o) == {"MOTOR-200W": Decimal(0), "BOLT-M8": Decimal(0)}, "the input order is not mutated"

    more = apply_receipt(partial, [rcv("MOTOR-200W", "6"), rcv("BOLT-M8", "999")])
    assert more.status == "partially_received"
    full = apply_receipt(more, [rcv("BOLT-M8", "1")])
    assert received(full) == {"MOTOR-200W": Decimal(10), "BOLT-M8": Decimal(1000)}
    assert full.status == "received"
    assert full.fully_received
    assert [ln.sku for ln in full.lines] == ["MOTOR-200W", "BOLT-M8"]
    assert full.number == "PO-00001"


def test_over_receipt_is_a_conflict_and_changes_nothing() -> None:
    o = apply_receipt(order(), [rcv("MOTOR-200W", "8")])
    with pytest.raises(Conflict, match=r"over-receipt of MOTOR-200W: 3 to receive, but only 2 of the 10 ordered are still open \(8 received\)"):
        apply_receipt(o, [rcv("BOLT-M8", "10"), rcv("MOTOR-200W", "3")])
    assert received(o) == {"MOTOR-200W": Decimal(8), "BOLT-M8": Decimal(0)}


def test_the_same_sku_twice_in_one_receipt_counts_both() -> None:
    with pytest.raises(Conflict, match="over-receipt"):
        apply_receipt(order(), [rcv("MOTOR-200W", "6"), rcv("MOTOR-200W", "6")])
    ok = apply_receipt(order(), [rcv("MOTOR-200W", "6"), rcv("MOTOR-200W", "4")])
    assert received(ok)["MOTOR-200W"] == Decimal(10)


def test_unknown_sku_is_invalid() -> None:
    with pytest.raises(Invalid, match="FAN-200 is not on purchase order PO-00001"):
        apply_receipt(order(), [rcv("FAN-200", "1")])


def test_receipt_on_a_fully_received_order_is_a_conflict() -> None:
    full = apply_receipt(order(), [rcv("MOTOR-200W", "10"), rcv("BOLT-M8", "1000")])
    with pytest.raises(Conflict, match="fully received"):
        apply_receipt(full, [rcv("MOTOR-200W", "1")])


def test_empty_receipt_is_invalid() -> None:
    with pytest.raises(Invalid, match="at least one line"):
        apply_receipt(order(), [])


def test_receipt_line_refuses_zero_and_negative() -> None:
    for qty in ("0", "-1"):
        with pytest.raises(ValidationError):
            rcv("MOTOR-200W", qty)


def test_receipt_entry() -> None:
    # Its value is what the receipt's stock moves took in (each line to the cent): tests/unit/test_stock_valuation.py
    draft = receipt_entry("PO-00001", Decimal("800.45"))
    assert [(p.account, p.debit, p.credit) for p in draft.postings] == [
        (accounting.INVENTORY, Decimal("800.45"), Decimal(0)),
        (accounting.GRNI, Decimal(0), Decimal("800.45")),
    ]


def test_over_receipt_message_reads_plain_numbers_for_database_scale() -> None:
    o = OrderState(number="PO-00002", lines=[
        OrderLineState(sku="STEEL-SHEET", qty=Decimal("50.0000"), received_qty=Decimal("30.0000"),
                       unit_price=Decimal("12.5000"))])
    with pytest.raises(Conflict) as err:
        apply_receipt(o, [rcv("STEEL-SHEET", "25")])
    assert str(err.value) == ("over-receipt of STEEL-SHEET: 25 to receive, but only 20 of the 50 ordered are "
                              "still open (30 received)")
