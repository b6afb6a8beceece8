"""The inbox's fast paths give exactly what the plain visibility rule gives: the page of each view, in every
order and direction, at several offsets, and the counts (the menu badge and the tabs), over random tasks of
every shape (claimed, named, for a role, the viewer's own requests, closed)."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api.routes.tasks import InboxFilter, inbox_query, view_counts
from domain.approvals import services as approvals
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.core.types import utcnow

PEOPLE = ["frank", "grace", "heidi", "ivan"]
ROLES = ["manager", "finance", "cfo", "buyer"]


@pytest.fixture
def tasks(fresh_db: Database) -> Database:
    rng = random.Random(7)
    now = utcnow()
    rows = []
    for i in range(600):
        shape = rng.choice(["role", "role", "named", "claimed", "named_claimed"])
        role = rng.choice(ROLES) if shape in ("role", "claimed") else None
        user = rng.choice(PEOPLE) if shape in ("named", "named_claimed") else None
        assignee = rng.choice(PEOPLE) if shape in ("claimed", "named_claimed") else None
        rows.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "workflow_id": f"wf-{i}",
            "process_id": f"p-{i}", "process_type": rng.choice(["expense_claim", "purchase"]),
            "kind": rng.choice(["approval", "alert"]), "title": f"t{i}", "business_key": f"EC-{i:04d}",
            "amount": Decimal(rng.randrange(100, 100_000)), "requester": rng.choice([*PEOPLE, "alice"]),
            "step": 1, "step_label": "x", "candidate_role": role, "candidate_user": user, "assignee": assignee,
            "status": rng.choice(["open"] * 5 + ["completed"]), "priority": rng.choice([30, 50, 70, 90]),
            "comment": "",
            # ties on due and priority on purpose: the order's tie-breaks must agree too
            "due_at": None if rng.random() < 0.05 else now + timedelta(hours=rng.randrange(-48, 96, 12)),
            "created_at": now - timedelta(hours=rng.randrange(0, 400, 8)),
        })
    with fresh_db.write() as s:
        s.execute(insert(Task), rows)
    return fresh_db


def _plain(s: Session, user: SimpleNamespace, f: InboxFilter) -> list[str]:
    """The rule written plainly: one OR over the visibility rule and the view, sorted whole."""
    q = approvals.task_query(user.username, sorted(user.roles)).where(
        approvals.view_filter(f.view, user.username, sorted(user.roles)))
    q = approvals.narrow(q, key_prefix=f.key_prefix, min_amount=f.min_amount, overdue=f.overdue)
    if f.kind:
        q = q.where(Task.kind == f.kind)
    return [t.id for t in s.execute(q.order_by(*approvals.ordering(f.sort, f.direction))).scalars()]


@pytest.mark.parametrize("who,roles", [("frank", {"manager"}), ("grace", {"finance", "cfo", "manager"}),
                                       ("ivan", set()), ("heidi", {"buyer", "employee"})])
def test_every_view_order_and_page_matches_the_plain_rule(tasks: Database, who: str, roles: set[str]) -> None:
    user = SimpleNamespace(username=who, roles=roles)
    filters = [{}, {"kind": "alert"}, {"min_amount": Decimal(50_000)}, {"key_prefix": "EC-01"}, {"overdue": True}]
    with tasks.read() as s:
        for view in approvals.VIEWS:
            for sort in approvals.SORT_KEYS:
                for direction in (None, "asc", "desc"):
                    for extra in filters:
                        f = InboxFilter(view=view, sort=sort, direction=direction, **extra)
                        want = _plain(s, user, f)
                        for offset, limit in ((0, 50), (0, 7), (7, 7), (40, 25)):
                            q = inbox_query(user, f, listing=True, window=offset + limit)
                            q = q.order_by(*approvals.ordering(sort, direction)).limit(limit).offset(offset)
                            got = [t.id for t in s.execute(q).scalars()]
                            assert got == want[offset:offset + limit], (view, sort, direction, extra, offset)
                        unwindowed = inbox_query(user, f, listing=True).order_by(*approvals.ordering(sort, direction))
                        assert [t.id for t in s.execute(unwindowed).scalars()] == want
        counts = view_counts(s, user, InboxFilter())
        for view in approvals.VIEWS:
            assert counts[view] == len(_plain(s, user, InboxFilter(view=view))), view
        assert counts["all"] == s.execute(select(func.count()).select_from(
            approvals.task_query(who, sorted(roles)).subquery())).scalar_one()
        assert counts["all"] > 0 or not roles
