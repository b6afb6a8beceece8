"""The monitor list's fast paths give what the plain rule gives: for an overseer every process, for anyone else
those they own or had a task on; newest first, page by page, under each filter."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from api.routes.processes import ProcessFilter, list_query
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.core.types import utcnow
from domain.crm.tables import Lead
from domain.parties.tables import Customer
from domain.processes.tables import Process

PEOPLE = ["frank", "grace", "heidi", "ivan"]


@pytest.fixture
def world(fresh_db: Database) -> Database:
    rng = random.Random(11)
    now = utcnow()
    processes, tasks = [], []
    with fresh_db.write() as s:
        s.add_all([Customer(name="Acme Corp"), Customer(name="Globex")])
        s.add(Lead(number="LD-1", company="Initech", contact="x", email="x@initech.example", source="web",
                   estimated_value=Decimal(1), owner="frank", process_id="lead-LD-1", created_by="frank"))
    for i in range(400):
        pid = f"p-{i:04d}"
        processes.append({
            "process_id": pid, "type": rng.choice(["expense_claim", "purchase", "sales_order"]),
            "business_key": f"{rng.choice(['EC', 'PR', 'SO'])}-{i:04d}", "title": "", "owner": rng.choice(PEOPLE),
            "amount": Decimal(100), "status": rng.choice(["running", "completed"]),
            "stage": rng.choice(["a", "b"]), "customer": rng.choice([None, "Acme Corp", "Globex", "Initech"]),
            # ties on started_at on purpose: process_id breaks them
            "started_at": now - timedelta(hours=rng.randrange(0, 300, 6))})
        for _ in range(rng.randrange(0, 3)):
            shape = rng.choice(["named", "claimed", "decided", "role"])
            tasks.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "workflow_id": pid, "process_id": pid,
                "process_type": "x", "kind": "approval", "title": "t", "business_key": "k", "requester": "alice",
                "candidate_user": rng.choice(PEOPLE) if shape == "named" else None,
                "assignee": rng.choice(PEOPLE) if shape == "claimed" else None,
                "decided_by": rng.choice(PEOPLE) if shape == "decided" else None,
                "candidate_role": rng.choice(["manager", "finance"]) if shape in ("role", "claimed") else None,
                "status": "completed" if shape == "decided" else rng.choice(["open", "open", "completed"]),
                "created_at": now})
    with fresh_db.write() as s:
        s.execute(insert(Process), processes)
        s.execute(insert(Task), tasks)
    return fresh_db


def _plain(s: Session, user: SimpleNamespace, f: ProcessFilter) -> list[str]:
    q = select(Process)
    if "admin" not in user.roles:
        involved = select(Task.process_id).where(or_(
            Task.candidate_user == user.username, Task.assignee == user.username, Task.decided_by == user.username,
            (Task.status == "open") & Task.candidate_user.is_(None) & Task.candidate_role.in_(user.roles or {""})))
        q = q.where(or_(Process.owner == user.username, Process.process_id.in_(involved)))
    for col, value in ((Process.type, f.type), (Process.status, f.status), (Process.stage, f.stage)):
        if value:
            q = q.where(col == value)
    if f.business_key:
        q = q.where(Process.business_key.startswith(f.business_key))
    rows = list(s.execute(q.order_by(Process.started_at.desc(), Process.process_id)).scalars())
    if f.customer:
        rows = [p for p in rows if p.customer and f.customer.lower() in p.customer.lower()]
    return [p.process_id for p in rows]


@pytest.mark.parametrize("who,roles", [("admin", {"admin"}), ("frank", {"manager"}), ("grace", {"finance"}),
                                       ("ivan", set())])
def test_every_page_under_every_filter_matches_the_plain_rule(world: Database, who: str, roles: set[str]) -> None:
    user = SimpleNamespace(username=who, roles=roles)
    filters = [ProcessFilter(), ProcessFilter(type="purchase"), ProcessFilter(status="running", stage="a"),
               ProcessFilter(customer="acme"), ProcessFilter(customer="INIT"), ProcessFilter(business_key="EC-01"),
               ProcessFilter(customer="nobody")]
    with world.read() as s:
        for f in filters:
            want = _plain(s, user, f)
            for offset, limit in ((0, 50), (0, 9), (9, 9), (30, 25), (500, 10)):
                got = [p.process_id for p in s.execute(list_query(user, f, limit, offset)).scalars()]
                assert got == want[offset:offset + limit], (f, offset, limit)
        assert _plain(s, user, ProcessFilter())  # everyone sees something in this world
