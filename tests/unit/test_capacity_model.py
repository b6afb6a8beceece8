"""The capacity model's arithmetic (bench/capacity.py sizing) and the start-latency target (bench/start_latency.py)."""

from __future__ import annotations

import pytest

from bench.capacity import FLOWS_PER_ORDER, SizingInputs, sizing
from bench.start_latency import meets_target

INPUTS = SizingInputs(worker_cpu_ms=150.0, api_cpu_ms=60.0, temporal_cpu_ms=120.0, db_bytes=20_000.0,
                      history_bytes=30_000.0)


def test_an_order_is_the_soak_mix() -> None:
    # 20 flows of the soak's mix hold 3 lead-to-order runs: 20/3 processes per order
    assert pytest.approx(20 / 3) == FLOWS_PER_ORDER


def test_sizing_by_hand() -> None:
    s = sizing(1_000, INPUTS)
    flows_day = 1_000 * 20 / 3
    peak = flows_day / (8 * 3600) * 3  # 0.694 flows/s at the peak
    assert s["flows_per_day"] == pytest.approx(flows_day, abs=0.1)
    assert s["peak_flows_per_s"] == pytest.approx(peak, abs=1e-3)
    assert s["worker_cores"] == pytest.approx(peak * 0.150 / 0.6, abs=0.01)
    assert s["api_cores"] == pytest.approx(peak * 0.060 / 0.6, abs=0.01)
    assert s["temporal_cores"] == pytest.approx(peak * 0.120 / 0.6, abs=0.01)
    assert s["workers"] == 2 and s["api_replicas"] == 2  # under one core each: the floor of two
    assert s["db_gb_per_year"] == pytest.approx(flows_day * 250 * 20_000 / 1e9, abs=0.01)
    assert s["temporal_history_gb"] == pytest.approx(flows_day * 250 / 365 * 30 * 30_000 / 1e9, abs=0.001)


def test_sizing_grows_linearly_and_rounds_processes_up() -> None:
    small, big = sizing(10_000, INPUTS), sizing(100_000, INPUTS)
    assert big["worker_cores"] == pytest.approx(10 * small["worker_cores"], rel=0.01)
    assert big["db_gb_per_year"] == pytest.approx(10 * small["db_gb_per_year"], rel=0.01)
    assert big["workers"] == max(2, -(-big["worker_cores"] // 1))
    assert big["workers"] >= big["worker_cores"] > big["workers"] - 1


@pytest.mark.parametrize(("ours", "skeleton", "ok"), [
    (45.0, 38.0, True),    # within 1.2x and under 50 ms
    (46.0, 38.0, False),   # over 1.2x (45.6)
    (49.0, 39.0, False),   # over 1.2x (46.8)
    (60.0, 55.0, True),    # skeleton over 40 ms: only the factor counts
    (67.0, 55.0, False),   # over 1.2x (66)
    (30.0, 35.0, True),    # faster than the skeleton
    (0.0, 35.0, False),    # nothing measured
    (30.0, float("nan"), False),
])
def test_start_latency_target(ours: float, skeleton: float, ok: bool) -> None:
    assert meets_target(ours, skeleton) is ok


def test_run_all_summary_rows() -> None:
    from bench.run_all import _capacity_rows, _start_latency_rows

    side = {"p50_ms": 20.0, "p95_ms": 30.0}
    rows = _start_latency_rows({"clients": 50, "ours": side, "skeleton": {"p50_ms": 18.0, "p95_ms": 28.0},
                                "skeleton_uws": side, "p95_ratio": 1.071, "meets_target": True, "valid": True})
    assert rows[-1] == ("start latency", "p95 ours / skeleton (target <= 1.2, < 50 ms if skeleton < 40 ms)",
                        "1.071  ok")
    rows = _capacity_rows({"database": "sqlite", "1_worker": {"processes_per_core_second": 1.5},
                           "2_workers": {"processes_per_core_second": 1.4}, "db_rows_per_flow": 26.2,
                           "history_events_per_flow_mix": 113.0, "db_bytes_per_flow": 5837})
    assert rows[0][2] == "1.500  1.400" and rows[1][2] == "26.2  113.0  5,837"
