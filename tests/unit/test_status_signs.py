"""A document's status read in Core (what its long poll waits on: one statement, no ORM object) is the status of
the document read with ORM objects, for whoever may see it, and refuses whom the ORM read refuses; a process's JSON
view read in Core (api.processes.process_view) is the view built from its ORM objects. Several viewers of each
kind: the owner, an overseer, one with a task on it (open, decided or named), an outsider, and a number that does
not exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.processes import process_summary, process_view, visible_process, visible_row
from api.routes import purchasing as purchasing_routes
from api.routes.common import task_view
from domain.approvals.rules import TaskStatus
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.core.errors import NotFound
from domain.crm.tables import Lead, Opportunity
from domain.parties.tables import Customer, Supplier
from domain.processes.tables import Process, ProcessStep
from domain.purchasing.tables import PurchaseRequisition
from domain.sales import services as sales_svc
from domain.sales.tables import Quotation, SalesOrder

VIEWERS: list[tuple[str, tuple[str, ...]]] = [
    ("dave", ("employee",)),            # owner of the requisition and of the process
    ("alice", ("sales",)),              # owner of the opportunity and the order
    ("bob", ("sales_manager",)),        # author of the second quotation; a sales manager
    ("frank", ("manager",)),            # an open task on each process, to his role
    ("heidi", ("cfo",)),                # decided a task on each process
    ("ivan", ("warehouse",)),           # named on a task of the first process only
    ("carol", ("employee",)),           # nothing to do with any of them
    ("admin", ("admin",)),
]
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def _principal(username: str, roles: tuple[str, ...]) -> Principal:
    return Principal(username=username, roles=frozenset(roles))


def _documents(s: Session) -> None:
    supplier = s.execute(select(Supplier.id).limit(1)).scalar_one()
    customer = s.execute(select(Customer.id).limit(1)).scalar_one()
    lead = Lead(number="LD-SG1", company="Signs Ltd", contact="Ann", email="ann@example.com", source="web",
                estimated_value=Decimal(1000), owner="alice", process_id="lead/LD-SG1",
                created_by="alice")
    s.add(lead)
    s.flush()
    opp = Opportunity(number="OP-SG1", lead_id=lead.id, customer_id=customer, name="signs", amount=Decimal(1000),
                      expected_value=Decimal(100), owner="alice", process_id="lead/LD-SG1")
    s.add(opp)
    s.flush()
    for n, author, status in ((1, "alice", "sent"), (2, "bob", "pending_approval")):
        s.add(Quotation(number=f"QT-SG{n}", opportunity_id=opp.id, customer_id=customer, status=status,
                        issued_on=date(2026, 11, 3), valid_until=date(2026, 12, 3), subtotal=Decimal(10),
                        discount_total=Decimal(0), net_total=Decimal(10), tax=Decimal(0), total=Decimal(10),
                        process_id=f"quotation/QT-SG{n}", created_by=author))
    s.add(PurchaseRequisition(number="PR-SG1", requester="dave", status="pending_approval", total=Decimal(10),
                              supplier_id=supplier, process_id="purchase/PR-SG1"))
    s.add(SalesOrder(number="SO-SG1", customer_id=customer, status="in_fulfilment", total=Decimal(10), owner="alice",
                     process_id="sales-order/SO-SG1", idempotency_key="k-SO-SG1"))
    for pid, kind, key, owner in (("purchase/PR-SG1", "purchase", "PR-SG1", "dave"),
                                  ("quotation/QT-SG1", "quotation", "QT-SG1", "alice"),
                                  ("quotation/QT-SG2", "quotation", "QT-SG2", "bob"),
                                  ("sales-order/SO-SG1", "sales_order", "SO-SG1", "alice")):
        s.add(Process(process_id=pid, type=kind, business_key=key, owner=owner, title=f"{kind} {key}",
                      amount=Decimal("10.50"), status="running", stage="approval", started_at=T0, customer="Signs Ltd"))
        for seq, name in enumerate(("submitted", "approval: manager")):
            s.add(ProcessStep(process_id=pid, seq=seq, name=name, status="done" if seq == 0 else "active",
                              detail=f"step {seq}", started_at=T0 + timedelta(minutes=seq),
                              finished_at=T0 + timedelta(minutes=1) if seq == 0 else None))
        s.add(Task(id=f"t-{key}-1", workflow_id=pid, process_id=pid, process_type=kind, kind="approval",
                   title=f"{key} decided", business_key=key, status=TaskStatus.COMPLETED, candidate_role="cfo",
                   decided_by="heidi", decision="approve", created_at=T0, closed_at=T0 + timedelta(minutes=1)))
        s.add(Task(id=f"t-{key}-2", workflow_id=pid, process_id=pid, process_type=kind, kind="approval",
                   title=f"{key} open", business_key=key, status=TaskStatus.OPEN, candidate_role="manager",
                   amount=Decimal("10.50"), created_at=T0 + timedelta(minutes=2),
                   due_at=T0 + timedelta(days=1)))
    s.add(Task(id="t-named", workflow_id="purchase/PR-SG1", process_id="purchase/PR-SG1", process_type="purchase",
               kind="approval", title="named", business_key="PR-SG1", status=TaskStatus.OPEN, candidate_user="ivan",
               created_at=T0 + timedelta(minutes=3)))


def _same(orm: Callable[[], Any], core: Callable[[], Any]) -> Any:
    """Both reads give the same answer, or both refuse (NotFound); the answer, or None when refused."""
    try:
        want = orm()
    except NotFound:
        with pytest.raises(NotFound):
            core()
        return None
    assert core() == want
    return want


CASES: list[tuple[str, list[str]]] = [
    ("process", ["purchase/PR-SG1", "quotation/QT-SG2", "sales-order/SO-SG1", "no/such"]),
    ("requisition", ["PR-SG1", "PR-NONE"]),
    ("quotation", ["QT-SG1", "QT-SG2", "QT-NONE"]),
    ("order", ["SO-SG1", "SO-NONE"]),
]


@pytest.mark.parametrize(("kind", "keys"), CASES)
def test_each_status_sign_is_the_orm_status_for_whoever_may_see_it(db: Database, kind: str, keys: list[str]) -> None:
    with db.write() as s:
        _documents(s)
    seen = refused = 0
    for username, roles in VIEWERS:
        user, viewer = _principal(username, roles), (username, roles)
        for key in keys:
            def orm(key: str = key, user: Principal = user, viewer: tuple[str, tuple[str, ...]] = viewer) -> str:
                with db.read() as s:
                    if kind == "process":
                        return visible_process(s, user, key).status
                    if kind == "requisition":
                        return purchasing_routes._visible_req(s, user, key).status
                    if kind == "quotation":
                        return sales_svc.visible_quotation(s, key, viewer).status
                    return sales_svc.visible_order(s, key, viewer).status

            def core(key: str = key, user: Principal = user, viewer: tuple[str, tuple[str, ...]] = viewer) -> str:
                with db.peek() as c:
                    if kind == "process":
                        return str(visible_row(c, user, key).status)
                    if kind == "requisition":
                        return purchasing_routes._visible_req_status(c, user, key)
                    if kind == "quotation":
                        return sales_svc.visible_quotation_status(c, key, viewer)
                    return sales_svc.visible_order_status(c, key, viewer)

            if _same(orm, core) is None:
                refused += 1
            else:
                seen += 1
    # Each kind has viewers on both sides of its rule, and the unknown number is refused to all.
    assert seen >= 3 and refused >= len(VIEWERS) + 1, (seen, refused)


def test_the_process_view_in_core_is_the_view_of_its_orm_objects(db: Database) -> None:
    with db.write() as s:
        _documents(s)
    for username, roles in VIEWERS:
        user = _principal(username, roles)
        for pid in ("purchase/PR-SG1", "quotation/QT-SG1", "sales-order/SO-SG1", "no/such"):
            def orm(pid: str = pid, user: Principal = user) -> dict[str, Any]:
                with db.read() as s:
                    proc = visible_process(s, user, pid)
                    tasks = [task_view(t) for t in s.execute(
                        select(Task).where(Task.process_id == pid).order_by(Task.created_at)).scalars()]
                    return {**process_summary(proc),
                            "steps": [{"name": st.name, "status": st.status, "detail": st.detail,
                                       "started_at": st.started_at, "finished_at": st.finished_at}
                                      for st in proc.steps],
                            "open_tasks": [t for t in tasks if t["status"] == TaskStatus.OPEN], "tasks": tasks}

            def core(pid: str = pid, user: Principal = user) -> dict[str, Any]:
                with db.peek() as c:
                    return process_view(c, user, pid)

            view = _same(orm, core)
            if view is not None:
                assert [st["name"] for st in view["steps"]] == ["submitted", "approval: manager"]
                assert view["amount"] == Decimal("10.50") and view["started_at"] == T0
                assert [type(v) for v in core(pid).values()] == [type(v) for v in view.values()]
                assert all(type(a) is type(b) for a, b in zip(core(pid)["tasks"][0].values(),
                                                              view["tasks"][0].values(), strict=True))
    with db.peek() as c:
        admin_view = process_view(c, _principal("admin", ("admin",)), "purchase/PR-SG1")
        for outsider in (_principal("carol", ("employee",)), _principal("ivan", ("warehouse",))):
            with pytest.raises(NotFound):
                process_view(c, outsider, "sales-order/SO-SG1")
        assert process_view(c, _principal("ivan", ("warehouse",)), "purchase/PR-SG1")["owner"] == "dave"
    assert [t["id"] for t in admin_view["tasks"]] == ["t-PR-SG1-1", "t-PR-SG1-2", "t-named"]
    assert [t["id"] for t in admin_view["open_tasks"]] == ["t-PR-SG1-2", "t-named"]
