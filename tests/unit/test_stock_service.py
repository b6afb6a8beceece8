"""Stock, numbering and ledger services against a real database (SQLite file, or PostgreSQL when
DATABASE_URL says so): the demo company is loaded by the `db` fixture."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain import demo
from domain.accounting import ledger
from domain.accounting import rules as accounting
from domain.accounting.tables import JournalEntry
from domain.core import records as common
from domain.core.db import Database
from domain.core.errors import Conflict, Invalid, NotFound
from domain.inventory import stock
from domain.inventory.tables import StockLedgerEntry

SKU = "MOTOR-200W"  # 30 on hand at 200.00 in the demo company


def _ledger_count(db: Database, sku: str = SKU) -> int:
    with db.read() as s:
        item = stock.item_by_sku(s, sku)
        return s.execute(select(func.count()).select_from(StockLedgerEntry)
                         .where(StockLedgerEntry.item_id == item.id)).scalar_one()


def _levels(db: Database, sku: str = SKU) -> dict[str, Decimal]:
    with db.read() as s:
        return stock.levels(s, sku)


def _issue(db: Database, qty: str, key: str, sku: str = SKU) -> StockLedgerEntry:
    with db.write() as s:
        return stock.move(s, sku, Decimal(qty), unit_cost=None, voucher_type="issue", voucher_no="T", key=key)


def test_demo_levels(db: Database) -> None:
    assert _levels(db) == {"sku": SKU, "on_hand": Decimal(30), "reserved": Decimal(0), "available": Decimal(30),
                           "on_order": Decimal(0), "stock_value": Decimal("6000.00"), "quarantine": Decimal(0)}
    assert _levels(db, "BOLT-M8")["stock_value"] == Decimal("300.00")
    assert _ledger_count(db) == 1  # the opening stock entry


def test_levels_of_unknown_sku_is_not_found(db: Database) -> None:
    with db.read() as s, pytest.raises(NotFound, match="unknown SKU 'NOPE'"):
        stock.levels(s, "NOPE")


def test_move_of_unknown_sku_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        _issue(db, "-1", "k-unknown", sku="NOPE")


def test_issue_records_a_ledger_entry_at_moving_average(db: Database) -> None:
    entry = _issue(db, "-4", "k1")
    assert entry.qty == Decimal(-4)
    assert entry.unit_cost == Decimal(200)
    assert entry.value_change == Decimal("-800.00")
    assert entry.on_hand_after == Decimal(26)
    assert _levels(db)["on_hand"] == Decimal(26)
    assert _levels(db)["stock_value"] == Decimal("5200.00")
    assert _ledger_count(db) == 2


def test_receipt_changes_the_moving_average(db: Database) -> None:
    with db.write() as s:
        stock.move(s, SKU, Decimal(10), unit_cost=Decimal("240.00"), voucher_type="receipt", voucher_no="GR-1",
                   key="r1")
    assert _levels(db)["on_hand"] == Decimal(40)
    assert _levels(db)["stock_value"] == Decimal("8400.00")  # 30*200 + 10*240 → average 210
    assert _issue(db, "-1", "i1").unit_cost == Decimal(210)


def test_move_refuses_to_go_negative_and_changes_nothing(db: Database) -> None:
    before = _levels(db)
    with pytest.raises(Conflict, match="not enough MOTOR-200W on hand"):
        _issue(db, "-31", "too-much")
    assert _levels(db) == before
    assert _ledger_count(db) == 1
    # the refused key was not consumed: a later valid move under it works
    assert _issue(db, "-30", "too-much").on_hand_after == Decimal(0)
    assert _levels(db)["stock_value"] == Decimal(0)


def test_refusal_message_reads_plain_numbers(db: Database) -> None:
    with pytest.raises(Conflict) as err:
        _issue(db, "-31", "too-much")
    assert str(err.value) == "not enough MOTOR-200W on hand: 30 on hand, 31 asked"


def test_zero_move_is_invalid_and_changes_nothing(db: Database) -> None:
    with pytest.raises(Invalid):
        _issue(db, "0", "zero")
    assert _ledger_count(db) == 1


def test_same_idempotency_key_twice_creates_one_entry(db: Database) -> None:
    first = _issue(db, "-3", "wf-1:issue")
    again = _issue(db, "-3", "wf-1:issue")
    assert again.id == first.id
    assert _ledger_count(db) == 2
    assert _levels(db)["on_hand"] == Decimal(27)


def test_same_idempotency_key_in_one_transaction(db: Database) -> None:
    with db.write() as s:
        a = stock.move(s, SKU, Decimal(-1), unit_cost=None, voucher_type="issue", voucher_no="T", key="dup")
        b = stock.move(s, SKU, Decimal(-1), unit_cost=None, voucher_type="issue", voucher_no="T", key="dup")
        assert a is b
    assert _levels(db)["on_hand"] == Decimal(29)


def test_change_on_order_never_below_zero(db: Database) -> None:
    with db.write() as s:
        stock.change_on_order(s, SKU, Decimal(10))
    assert _levels(db)["on_order"] == Decimal(10)
    with db.write() as s:
        stock.change_on_order(s, SKU, Decimal(-25))
    assert _levels(db)["on_order"] == Decimal(0)


def test_concurrent_issues_never_oversell(db: Database) -> None:
    threads_n = 50
    barrier = threading.Barrier(threads_n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        try:
            with db.write() as s:
                stock.move(s, SKU, Decimal(-1), unit_cost=None, voucher_type="issue", voucher_no="T",
                           key=f"conc-{i}-{uuid.uuid4().hex}")
            result = "ok"
        except Conflict:
            result = "conflict"
        except Exception as e:  # anything else is a failure of the test, reported below
            result = f"error: {type(e).__name__}: {e}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)

    counts = Counter(outcomes)
    assert counts == {"ok": 30, "conflict": 20}, counts
    assert _levels(db)["on_hand"] == Decimal(0)
    assert _levels(db)["stock_value"] == Decimal(0)
    with db.read() as s:
        item = stock.item_by_sku(s, SKU)
        afters = list(s.execute(select(StockLedgerEntry.on_hand_after).where(StockLedgerEntry.item_id == item.id)
                                .order_by(StockLedgerEntry.id)).scalars())
    # opening 30, then every issue saw the previous one: 29, 28, …, 0 — no lost update, never negative
    assert afters == [Decimal(n) for n in range(30, -1, -1)]


def test_concurrent_retries_of_one_key_issue_once(db: Database) -> None:
    """A retried activity racing its first attempt: whatever each caller sees, stock moves once."""
    threads_n = 10
    barrier = threading.Barrier(threads_n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            with db.write() as s:
                entry = stock.move(s, SKU, Decimal(-1), unit_cost=None, voucher_type="issue", voucher_no="T",
                                   key="wf-9:issue")
                result = f"entry {entry.id}"
        except Exception as e:
            result = f"error: {type(e).__name__}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert _levels(db)["on_hand"] == Decimal(29)
    assert _ledger_count(db) == 2
    assert len({o for o in outcomes if o.startswith("entry")}) == 1


def test_next_number_is_gap_free_per_prefix(db: Database) -> None:
    with db.write() as s:
        assert common.next_number(s, "EC") == "EC-00001"
        assert common.next_number(s, "EC") == "EC-00002"
    with db.write() as s:
        assert common.next_number(s, "PR") == "PR-00001"
        assert common.next_number(s, "EC") == "EC-00003"
    with pytest.raises(RuntimeError), db.write() as s:
        assert common.next_number(s, "EC") == "EC-00004"
        raise RuntimeError("rolled back")
    with db.write() as s:
        assert common.next_number(s, "EC") == "EC-00004"  # the rolled-back number is reused
        assert common.next_number(s, "X", width=3) == "X-001"


def _numbers_in_parallel(db: Database, prefix: str, n: int) -> list[str]:
    barrier = threading.Barrier(n)
    got: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            with db.write() as s:
                number = common.next_number(s, prefix)
        except Exception as e:
            number = f"error: {type(e).__name__}"
        with lock:
            got.append(number)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return got


def test_next_number_under_concurrency_is_unique_and_gap_free(db: Database) -> None:
    with db.write() as s:
        assert common.next_number(s, "EC") == "EC-00001"
    got = _numbers_in_parallel(db, "EC", 20)
    assert sorted(got) == [f"EC-{n:05d}" for n in range(2, 22)]


def test_next_number_first_use_race_is_unique_and_gap_free(db: Database) -> None:
    got = _numbers_in_parallel(db, "PO", 10)
    assert sorted(got) == [f"PO-{n:05d}" for n in range(1, 11)]


def test_once_runs_the_effect_once(db: Database) -> None:
    calls: list[int] = []

    def effect() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    with db.write() as s:
        assert common.once(s, "step-1", effect) == {"n": 1}
    with db.write() as s:
        assert common.once(s, "step-1", effect) == {"n": 1}
    assert len(calls) == 1


def test_trial_balance_balances_after_demo_load(db: Database) -> None:
    with db.read() as s:
        tb = ledger.trial_balance(s)
    opening = sum((Decimal(cost) * Decimal(item[-1]) for item in demo.ITEMS for cost in [item[3]]), Decimal(0))
    assert tb["debit_total"] == tb["credit_total"]
    rows = {a["code"]: (a["debit"], a["credit"]) for a in tb["accounts"]}  # type: ignore[attr-defined]
    assert rows[accounting.INVENTORY] == (opening, Decimal(0))
    assert rows[accounting.OPENING_EQUITY] == (Decimal(0), opening)
    # and the demo's history (domain/demo.load_history): invoices, a receipt and a supplier's bill, no stock
    assert set(rows) - {accounting.INVENTORY, accounting.OPENING_EQUITY} == {
        accounting.RECEIVABLES, accounting.REVENUE, accounting.SALES_TAX, accounting.BANK, accounting.PAYABLES,
        demo.OTHER_EXPENSES}


def test_trial_balance_nets_each_account(db: Database) -> None:
    with db.read() as s:  # the demo's history moved the bank already
        debit, credit = next((a["debit"], a["credit"]) for a in ledger.trial_balance(s)["accounts"]  # type: ignore[attr-defined]
                             if a["code"] == accounting.BANK)
    with db.write() as s:
        ledger.post(s, accounting.entry("buy", {accounting.INVENTORY: Decimal("100.00")},
                                        {accounting.BANK: Decimal("100.00")}), "test", "T-1", "tb-1")
        ledger.post(s, accounting.entry("refund", {accounting.BANK: Decimal("30.00")},
                                        {accounting.INVENTORY: Decimal("30.00")}), "test", "T-2", "tb-2")
    with db.read() as s:
        tb = ledger.trial_balance(s)
    rows = {a["code"]: (a["debit"], a["credit"]) for a in tb["accounts"]}  # type: ignore[attr-defined]
    net = debit - credit - Decimal("70.00")
    assert rows[accounting.BANK] == ((net, Decimal(0)) if net > 0 else (Decimal(0), -net))
    assert tb["debit_total"] == tb["credit_total"]


def test_ledger_post_is_idempotent(db: Database) -> None:
    draft = accounting.entry("x", {accounting.BANK: Decimal(5)}, {accounting.OPENING_EQUITY: Decimal(5)})
    with db.write() as s:
        first = ledger.post(s, draft, "test", "T", "post-once")
    with db.write() as s:
        again = ledger.post(s, draft, "test", "T", "post-once")
        count = s.execute(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.idempotency_key == "post-once")).scalar_one()
    assert again.id == first.id
    assert count == 1
