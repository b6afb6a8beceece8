"""The dashboard's chart helper (api/charts.py), its figures (domain/dashboard.py) on a real database
(SQLite, or PostgreSQL by DATABASE_URL), and the incidents drawn from Temporal's pending activities."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select
from temporalio.api.common.v1 import ActivityType
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.failure.v1 import Failure
from temporalio.api.workflow.v1 import PendingActivityInfo

from api.charts import bar_chart, line_chart
from api.incidents import incidents_of
from domain import dashboard as figures
from domain.approvals.tables import Task
from domain.core.db import Database
from domain.parties.tables import Customer
from domain.processes.tables import Process
from domain.sales.tables import SalesOrder

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # well-formed XML, or this raises


# --- the chart helper --------------------------------------------------------------------------------------

def test_labels_and_titles_are_escaped() -> None:
    evil = '<script>alert("x")</script>'
    bar = bar_chart([evil, "<img src=x onerror=alert(1)>"], [("a&b", [3, 1])], title=f"T {evil}")
    line = line_chart([evil, "b"], [(evil, [1, 2])], title=evil, every=1)
    for svg in (bar, line):
        assert "<script" not in svg and "<img" not in svg
        assert "&lt;script&gt;" in svg
        root = parse(svg)
        assert root.find(f"{SVG}title").text.startswith(("T <script>", "<script>"))  # type: ignore[union-attr]
        assert all(e.tag != f"{SVG}script" for e in root.iter())  # drawn as text, never as an element
    texts = [t.text or "" for t in parse(bar).iter(f"{SVG}title")]
    assert '<script>alert("x")</script> — a&b: 3' in texts


def test_empty_data_draws_a_no_data_note() -> None:
    for svg in (bar_chart([], [("n", [])], title="Nothing"), line_chart([], [], title="Nothing")):
        root = parse(svg)
        assert root.get("viewBox", "").startswith("0 0 ") and "width" not in root.attrib
        assert [t.text for t in root.iter(f"{SVG}text")] == ["No data yet"]
        assert not list(root.iter(f"{SVG}rect"))


def test_rows_of_zeros_are_data_not_an_empty_chart() -> None:
    """A cycle time under a minute or a 0 % margin is a row of the table below the chart: the chart draws it."""
    root = parse(bar_chart(["a", "b"], [("n", [0, 0])], title="Zero", unit=" min"))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "No data yet" not in texts and "a" in texts and "b" in texts


def bars(svg: str) -> list[tuple[float, float]]:
    return [(float(r.get("x", 0)), float(r.get("width", 0))) for r in parse(svg).iter(f"{SVG}rect")]


def test_bars_are_proportional_to_their_values() -> None:
    widths = [w for _, w in bars(bar_chart(["a", "b", "c"], [("n", [10, 5, 2.5])], title="t"))]
    assert widths[0] > 0
    assert abs(widths[1] / widths[0] - 0.5) < 0.01 and abs(widths[2] / widths[0] - 0.25) < 0.01
    two = bars(bar_chart(["a", "b"], [("p50", [1, 2]), ("p95", [4, 8])], title="t"))[2:]  # after the legend's 2
    assert [round(w / two[3][1], 3) for _, w in two] == [0.125, 0.5, 0.25, 1.0]


def test_a_negative_margin_is_drawn_left_of_zero() -> None:
    (xa, wa), (xb, wb) = bars(bar_chart(["gain", "loss"], [("m", [30, -10])], title="t"))
    assert xb + wb == xa  # the loss ends where the gain starts: at the zero line
    assert abs(wa / wb - 3) < 0.01


def test_line_chart_points_follow_the_values() -> None:
    svg = line_chart(["d1", "d2", "d3"], [("started", [0, 2, 4])], title="Flow")
    line = parse(svg).find(f"{SVG}polyline")
    assert line is not None
    ys = [float(p.split(",")[1]) for p in line.get("points", "").split()]
    assert ys[0] > ys[1] > ys[2] and abs((ys[0] - ys[1]) - (ys[1] - ys[2])) < 0.01
    assert "started 6 in all" in (parse(svg).find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


# --- the figures -------------------------------------------------------------------------------------------

def process(pid: str, type_: str, started: datetime, closed: datetime | None = None,
            status: str = "running") -> Process:
    return Process(process_id=pid, type=type_, business_key=pid, title="", owner="erin", status=status,
                   started_at=started, closed_at=closed)


def task(tid: str, role: str | None, due: datetime | None, status: str = "open",
         closed: datetime | None = None, process_type: str = "expense_claim") -> Task:
    return Task(id=tid, workflow_id=tid, process_id=tid, process_type=process_type, kind="approval", title=tid,
                business_key=tid, candidate_role=role, candidate_user=None if role else "frank", status=status,
                due_at=due, created_at=NOW - timedelta(days=3), closed_at=closed)


def test_processes_started_and_completed_per_day(fresh_db: Database) -> None:
    with fresh_db.write() as s:
        s.add_all([process("p1", "expense_claim", NOW - timedelta(days=1), NOW, "completed"),
                   process("p2", "expense_claim", NOW - timedelta(days=1)),
                   process("p3", "purchase", NOW, NOW, "cancelled"),  # closed, but not completed
                   process("p4", "purchase", NOW - timedelta(days=40))])  # before the window
    with fresh_db.read() as s:
        days = figures.processes_per_day(s, NOW)
    assert len(days) == 30 and days[-1].day == NOW.date() and days[0].day == (NOW - timedelta(days=29)).date()
    assert [(d.started, d.completed) for d in days[-2:]] == [(2, 0), (1, 1)]
    assert sum(d.started for d in days) == 3 and sum(d.completed for d in days) == 1


def test_cycle_time_p50_and_p95_per_type(fresh_db: Database) -> None:
    with fresh_db.write() as s:
        for i in range(1, 21):  # 1 h .. 20 h
            s.add(process(f"e{i}", "expense_claim", NOW - timedelta(hours=i), NOW, "completed"))
        s.add(process("x1", "purchase", NOW - timedelta(hours=3), NOW, "completed"))
        s.add(process("x2", "purchase", NOW - timedelta(hours=300), NOW, "cancelled"))  # not completed
        s.add(process("x3", "purchase", NOW - timedelta(hours=300)))  # running
    with fresh_db.read() as s:
        cycles = {c.type: c for c in figures.cycle_times(s, NOW)}
    assert set(cycles) == {"expense_claim", "purchase"}
    assert (cycles["expense_claim"].completed, cycles["expense_claim"].p50_hours,
            cycles["expense_claim"].p95_hours) == (20, 10.0, 19.0)
    assert (cycles["purchase"].completed, cycles["purchase"].p50_hours, cycles["purchase"].p95_hours) == (1, 3, 3)
    assert figures.percentile([], 50) == 0 and figures.percentile([5.0], 95) == 5.0


def test_sla_breaches_late_decisions_and_open_overdue_tasks(fresh_db: Database) -> None:
    due = NOW - timedelta(days=2)
    with fresh_db.write() as s:
        s.add_all([task("late", "manager", due, "completed", due + timedelta(hours=1)),
                   task("on-time", "manager", due, "completed", due - timedelta(hours=1)),
                   task("overdue", "finance", due, process_type="purchase"),
                   task("old-overdue", "finance", NOW - timedelta(days=90), process_type="purchase"),
                   task("not-yet", "finance", NOW + timedelta(hours=1)),
                   task("no-sla", "finance", None),
                   task("cancelled", "finance", due, "cancelled", due + timedelta(days=1))])
    with fresh_db.read() as s:
        per_day, per_type = figures.sla_breaches(s, NOW)
    assert len(per_day) == 30
    by_day = {b.key: (b.late, b.overdue) for b in per_day if b.late or b.overdue}
    assert by_day == {due.date().isoformat(): (1, 1), per_day[0].key: (0, 1)}
    assert [(b.key, b.late, b.overdue) for b in per_type] == [("purchase", 0, 2), ("expense_claim", 1, 0)]


def test_open_tasks_per_role(fresh_db: Database) -> None:
    with fresh_db.write() as s:
        s.add_all([task("a", "manager", NOW - timedelta(hours=1)), task("b", "manager", None),
                   task("c", "manager", NOW + timedelta(days=1)), task("d", "finance", None),
                   task("e", None, NOW - timedelta(days=1)), task("f", "finance", None, "completed", NOW)])
    with fresh_db.read() as s:
        loads = figures.open_tasks_per_role(s, NOW)
    assert [(r.role, r.open, r.overdue) for r in loads] == [("manager", 3, 1), ("finance", 1, 0),
                                                            ("named person", 1, 1)]


def test_margin_per_customer_from_delivered_orders(db: Database) -> None:
    with db.write() as s:
        customers = s.execute(select(Customer).order_by(Customer.id)).scalars().all()[:2]
        evil = Customer(name="<script>alert(1)</script> Ltd")
        s.add(evil)
        s.flush()

        def order(n: int, c: Customer, status: str, revenue: str | None, margin: str | None) -> SalesOrder:
            return SalesOrder(number=f"SO-T{n}", customer_id=c.id, status=status, total=Decimal(revenue or 1),
                              owner="alice", process_id=f"p{n}", idempotency_key=f"k{n}",
                              revenue=None if revenue is None else Decimal(revenue),
                              margin=None if margin is None else Decimal(margin))
        s.add_all([order(1, customers[0], "completed", "1000", "250"), order(2, customers[0], "completed", "3000", "350"),
                   order(3, customers[0], "open", None, None), order(4, customers[1], "completed", "500", "-50"),
                   order(5, evil, "completed", "100", "10")])
        names = [c.name for c in customers]
    with db.read() as s:
        rows = figures.margin_per_customer(s)
    assert [(m.customer, m.orders, m.revenue, m.margin) for m in rows] == [
        (names[0], 2, Decimal("4000.00"), Decimal("600.00")), (names[1], 1, Decimal("500.00"), Decimal("-50.00")),
        ("<script>alert(1)</script> Ltd", 1, Decimal("100.00"), Decimal("10.00"))]
    assert [round(m.margin_pct or 0, 1) for m in rows] == [15.0, -10.0, 10.0]
    svg = bar_chart([m.customer for m in rows], [("margin %", [m.margin_pct or 0 for m in rows])], title="m")
    assert "<script>" not in svg and re.search(r"&lt;script&gt;alert\(1\)&lt;/script&gt; Ltd", svg)


# --- incidents from Temporal's pending activities ---------------------------------------------------------

def pending(activity_id: str, attempt: int, failure: str = "", next_at: int = 0) -> PendingActivityInfo:
    info = PendingActivityInfo(activity_id=activity_id, activity_type=ActivityType(name="record_receipt"),
                               attempt=attempt, state=PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED)
    if failure:
        info.last_failure.CopyFrom(Failure(message=failure))
        info.last_attempt_complete_time.CopyFrom(Timestamp(seconds=1_790_000_000))
    if next_at:
        info.next_attempt_schedule_time.CopyFrom(Timestamp(seconds=next_at))
    return info


def test_incidents_are_the_retried_or_failed_pending_activities() -> None:
    proc = {"process_id": "purchase-PR-00001", "business_key": "PR-00001", "type": "purchase", "title": "t"}
    found = incidents_of(proc, [pending("1", 1), pending("2", 5, "no item <X>", next_at=1_790_000_060),
                                pending("3", 1, "first failure"), pending("4", 3)])
    assert [(i.activity_id, i.attempt, i.error) for i in found] == [
        ("2", 5, "no item <X>"), ("3", 1, "first failure"), ("4", 3, "(no message)")]
    first = found[0]
    assert (first.process_id, first.business_key, first.process_type, first.activity_type, first.state) == (
        "purchase-PR-00001", "PR-00001", "purchase", "record_receipt", "scheduled")
    assert first.last_failure_at == datetime.fromtimestamp(1_790_000_000, UTC)
    assert first.next_attempt_at == datetime.fromtimestamp(1_790_000_060, UTC)
    assert found[2].last_failure_at is None and found[2].next_attempt_at is None
    assert incidents_of(proc, []) == []
