"""A claim's view read in Core (expenses.visible_view, what a claim's long poll answers with) is the view read with
ORM objects (expenses.view of visible_claim, what the other reads answer with), and refuses whom visible_claim refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.approvals.tables import ApprovalDecision
from domain.core.db import Database
from domain.core.errors import NotFound
from domain.expenses import services as expenses
from domain.expenses.tables import ExpenseClaim, ExpenseLine


def _claim(db: Database, number: str, lines: list[str], decided: bool) -> None:
    with db.write() as s:
        c = ExpenseClaim(number=number, requester="erin", status="approved" if decided else "pending_approval",
                         total=sum(map(Decimal, lines), Decimal(0)), currency="EUR",
                         process_id=f"expense-claim/{number}", trip="FR-00009" if decided else None,
                         decided_at=datetime(2026, 11, 3, 9, 30, tzinfo=UTC) if decided else None)
        s.add(c)
        s.flush()
        for i, amount in enumerate(lines):
            s.add(ExpenseLine(claim_id=c.id, category="travel" if i % 2 else "meals", amount=Decimal(amount),
                              currency="EUR", date=date(2026, 11, 1 + i), description=f"line {i} 出差"))
        if decided:
            for step, who in ((1, "frank"), (2, "heidi")):
                s.add(ApprovalDecision(process_id=c.process_id, business_key=number, task_id=f"t-{number}-{step}",
                                       step=step, role="manager", decided_by=who, decision="approve",
                                       comment=f"ok {step}", idempotency_key=f"k-{number}-{step}"))


@pytest.mark.parametrize(("lines", "decided"), [(["500"], False), (["12.34", "0.01", "99999.99"], True), ([], True)])
def test_the_core_view_is_the_orm_view(db: Database, lines: list[str], decided: bool) -> None:
    number = f"EC-V{len(lines)}{int(decided)}"
    _claim(db, number, lines, decided)
    for viewer in (("erin", ("employee",)), ("admin", ("admin",))):
        with db.read() as s:
            orm = expenses.view(s, expenses.visible_claim(s, number, viewer))
        with db.peek() as c:
            core = expenses.visible_view(c, number, viewer)
        assert core == orm
        assert [type(v) for v in core.values()] == [type(v) for v in orm.values()]
    assert [ln["amount"] for ln in core["lines"]] == [Decimal(a) for a in lines]
    assert len(core["approvals"]) == (2 if decided else 0)


def test_the_core_view_refuses_whom_the_orm_view_refuses(db: Database) -> None:
    _claim(db, "EC-V9", ["10"], False)
    for number, viewer in (("EC-V9", ("carol", ("employee",))), ("EC-NONE", ("erin", ("employee",)))):
        with pytest.raises(NotFound), db.read() as s:
            expenses.visible_claim(s, number, viewer)
        with pytest.raises(NotFound), db.peek() as c:
            expenses.visible_view(c, number, viewer)
