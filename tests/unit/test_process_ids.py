"""Process ids (domain/processes/ids.py) are business keys recorded in every history: pinned, byte for byte."""

from __future__ import annotations

from domain.processes import ids


def test_each_kind_of_process_has_its_key() -> None:
    assert ids.expense_claim("EC-00017") == "expense-claim-EC-00017"
    assert ids.purchase("PR-00003", "q/") == "q/purchase-PR-00003"
    assert ids.lead("LD-00001") == "lead-LD-00001"
    assert ids.quotation("QT-00005", "q/") == "q/quotation-QT-00005"
    assert ids.sales_order("SO-00042") == "sales-order-SO-00042"
    assert ids.production_order("MO-00007", "q/") == "q/production-order-MO-00007"


def test_approval_children_are_keyed_under_their_parent() -> None:
    assert ids.approval("expense-claim-EC-00017") == "expense-claim-EC-00017/approval"
    assert ids.discount_approval("quotation-QT-00005") == "quotation-QT-00005/discount-approval"
    assert ids.credit_approval("sales-order-SO-00042") == "sales-order-SO-00042/credit-approval"
    assert ids.change_approval("production-order-MO-00007", 2) == "production-order-MO-00007/change-2"


def test_a_sales_orders_prefix_is_read_back_from_its_id() -> None:
    assert ids.prefix_of_sales_order(ids.sales_order("SO-00042", "queue-1/")) == "queue-1/"
    assert ids.prefix_of_sales_order(ids.sales_order("SO-00042")) == ""
    assert ids.prefix_of_sales_order("something-else") == ""

