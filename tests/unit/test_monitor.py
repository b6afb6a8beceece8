"""The business map (domain/processes/monitor.py): each type's steps, where a process stands on them, what is done,
skipped, failed or still to do, steps the map does not know, and the waiting reason in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.processes.monitor import (
    PROCESS_MAPS,
    MapStep,
    RecordedStep,
    business_map,
    waiting_reason,
    waiting_since,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def rec(*names: str, active_last: bool = True) -> list[RecordedStep]:
    return [RecordedStep(name=n, status="active" if active_last and i == len(names) - 1 else "done",
                         started_at=T0 + timedelta(hours=i)) for i, n in enumerate(names)]


def states(m: list[MapStep]) -> list[tuple[str, str]]:
    return [(s.name, s.state) for s in m]


@pytest.mark.parametrize("type_", sorted(PROCESS_MAPS))
def test_every_type_has_a_map_drawn_in_full_before_it_starts(type_: str) -> None:
    m = business_map(type_, [], "", "running")
    assert [s.name for s in m] == list(PROCESS_MAPS[type_])
    assert {s.state for s in m} == {"todo"} and not any(s.current for s in m)


def test_the_seven_process_types_are_mapped() -> None:
    assert {"expense_claim", "purchase", "approval", "lead_to_order", "quotation", "sales_order",
            "production_order"} <= set(PROCESS_MAPS)


def test_expense_claim_waiting_for_its_second_approval() -> None:
    m = business_map("expense_claim", rec("submitted", "approval: manager", "approval: finance"),
                     "approval: finance", "running")
    assert states(m) == [("submitted", "done"), ("approval: manager", "done"), ("approval: finance", "current"),
                         ("awaiting payment", "todo"), ("paid", "todo")]
    assert [s.name for s in m if s.current] == ["approval: finance"]


def test_a_paid_claim_is_done_throughout_and_has_no_current_step() -> None:
    steps = rec("submitted", "approval: manager", "awaiting payment", "paid", active_last=False)
    m = business_map("expense_claim", steps, "paid", "completed")
    assert {s.state for s in m} == {"done"} and not any(s.current for s in m)


def test_a_step_gone_past_unrecorded_is_skipped_and_an_unreached_one_after_the_end_is_not_reached() -> None:
    # a small order with nothing short: no credit check, no approval, no kitting or MRP, no waiting for supply
    m = business_map("sales_order", rec("submitted", "ready to deliver"), "ready to deliver", "running")
    assert states(m) == [("submitted", "done"), ("credit check", "skipped"), ("approval", "skipped"),
                         ("kitting", "skipped"), ("MRP", "skipped"), ("waiting for supply", "skipped"),
                         ("ready to deliver", "current"), ("completed", "todo")]
    # a rejected claim: the ending is drawn after the approval that refused, failed; the rest is not reached
    m = business_map("expense_claim", rec("submitted", "approval: manager", "rejected", active_last=False),
                     "rejected", "completed")
    assert states(m) == [("submitted", "done"), ("approval: manager", "done"), ("rejected", "failed"),
                         ("awaiting payment", "not reached"), ("paid", "not reached")]


def test_a_sales_order_back_to_waiting_for_supply_after_planning_stands_there() -> None:
    # recorded: waiting for supply (reserve), then kitting and MRP, then waiting for supply again
    steps = rec("submitted", "waiting for supply", "kitting", "MRP", active_last=False)
    m = business_map("sales_order", steps, "waiting for supply", "running")
    assert [s.name for s in m if s.current] == ["waiting for supply"]
    assert dict(states(m))["kitting"] == "done" and dict(states(m))["MRP"] == "done"
    assert dict(states(m))["ready to deliver"] == "todo"


def test_unknown_step_names_are_still_shown_after_the_step_recorded_before_them() -> None:
    m = business_map("production_order", rec("waiting for material", "in production", "late"), "late", "running")
    assert [s.name for s in m] == ["waiting for material", "approval", "in production", "late", "completed"]
    late = m[3]
    assert late.state == "failed" and late.current and not late.planned
    m = business_map("purchase", rec("submitted", "something new"), "something new", "running")
    assert states(m)[:2] == [("submitted", "done"), ("something new", "current")]
    # and a type the monitor has no map for shows what it recorded
    m = business_map("mystery", rec("one", "two"), "two", "running")
    assert states(m) == [("one", "done"), ("two", "current")]


def test_a_recorded_failed_or_skipped_status_wins() -> None:
    steps = [RecordedStep("submitted", "done"), RecordedStep("approval: manager", "skipped"),
             RecordedStep("awaiting payment", "failed")]
    m = business_map("expense_claim", steps, "awaiting payment", "running")
    assert states(m)[1:3] == [("approval: manager", "skipped"), ("awaiting payment", "failed")]


def test_waiting_reason_names_who_and_since_when() -> None:
    now = T0 + timedelta(days=2, hours=3)
    task = {"created_at": T0, "candidate_user": "grace", "kind": "approval", "step_label": "finance",
            "assignee": None, "candidate_role": "finance"}
    assert waiting_reason([task], None, now) == "waiting for grace's approval (finance) since 2 days"
    by_role = {**task, "candidate_user": None}
    assert waiting_reason([by_role], None, T0 + timedelta(minutes=5)) == \
        "waiting for an approval by someone in finance since 5 minutes"
    assert waiting_reason([{**by_role, "step_label": "second look"}], None, T0).startswith(
        "waiting for an approval by someone in finance (second look) since")
    claimed = {**by_role, "assignee": "frank", "created_at": T0 + timedelta(hours=1)}
    assert waiting_reason([claimed, task], None, now).startswith("waiting for grace's")  # the oldest first
    assert waiting_reason([claimed, task], None, now).endswith("; 1 more open task(s)")
    current = MapStep(name="waiting for material", state="current", current=True, detail="short BLADE 3")
    assert waiting_reason([], current, now) == "waiting for material: short BLADE 3"
    assert waiting_reason([], None, now) == ""


def test_waiting_since_in_words() -> None:
    assert [waiting_since(x) for x in (0, 59, 60, 7200, 86400, 3 * 86400 + 5)] == [
        "just now", "just now", "1 minute", "2 hours", "1 day", "3 days"]


@pytest.mark.parametrize(("locale", "zone", "expected"), [
    ("en", "UTC", "done · Dec 7 20:45"), ("en", "Asia/Shanghai", "done · Dec 8 04:45"),
    ("zh_Hans", "Asia/Shanghai", "已完成 · 12月8日 04:45"), ("zh_Hans", "America/New_York", "已完成 · 12月7日 15:45")])
def test_the_maps_step_times_are_in_the_viewers_zone_and_language(locale: str, zone: str, expected: str) -> None:
    """A map box's time is the moment in the viewer's zone, in their language, as the rest of the page shows it (it
    was UTC with an English month on every page)."""
    from api import i18n
    from api.routes.ui.processes import WIDE, map_layout

    step = MapStep(name="submitted", state="done", started_at=datetime(2026, 12, 7, 20, 40, tzinfo=UTC),
                   finished_at=datetime(2026, 12, 7, 20, 45, tzinfo=UTC))
    with i18n.use(locale, zone):
        assert map_layout([step], WIDE)["boxes"][0]["sub"] == expected
