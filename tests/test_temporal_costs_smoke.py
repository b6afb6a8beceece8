"""bench/temporal_costs.py in small: each variant of the tiny workflow runs to its end on the dev server, its
history has the one feature more that it prices, and the server's CPU is counted for each."""

from __future__ import annotations

import pytest

from bench import temporal_costs

pytestmark = pytest.mark.e2e


async def test_each_feature_is_priced() -> None:
    res = await temporal_costs.run(executions=4, rounds=1, concurrency=4, warmup=1)
    per = res["server_cpu_ms_per_execution"]
    assert set(per) == set(temporal_costs.FEATURES)
    assert all(v > 0 for v in per.values()), per
    assert set(res["marginal_ms"]) == set(temporal_costs.FEATURES) - {"base"}
    in_history = [f for f in temporal_costs.FEATURES if f not in ("base", "describe")]
    assert all(res["events"][f] > res["events"]["base"] for f in in_history), res["events"]
    assert res["events"]["describe"] == res["events"]["base"]  # the client's describe adds nothing to the history
