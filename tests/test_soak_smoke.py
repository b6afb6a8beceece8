"""The soak (bench/soak.py) in small: ten processes of each side, every type of the mix, driven to their end
through the API and the Temporal client; nothing lost or stuck at the end."""

from __future__ import annotations

import pytest

from bench import soak

pytestmark = pytest.mark.e2e


async def test_a_small_soak_leaves_nothing_running() -> None:
    res = await soak.run(processes=10, concurrency=4, rounds=1, warmup=10)
    assert res["check"]["problems"] == []
    assert res["valid"], res["ours"]["first_errors"] + res["skeleton"]["first_errors"]
    assert res["ours"]["flows"] == res["skeleton"]["flows"] == 10
    assert set(res["ours"]["types"]) == set(soak.TYPES)
    assert res["check"]["process_rows_by_status"] == {"completed": res["check"]["rows"]["processes"]}
    cpu = res["ours"]["cpu_ms_per_flow"]  # our side's requests went through the lean client, which counts its own CPU
    assert 0 < cpu["bench_client"] < cpu["bench_and_api"]
    assert cpu["api"] == pytest.approx(cpu["bench_and_api"] - cpu["bench_client"], abs=0.01)
    # The CPU of the bench's children is split into the dev server's and the workers' (they add up to the whole).
    assert cpu["of_which_temporal"] > 0 and cpu["of_which_worker"] > 0
    assert cpu["of_which_temporal"] + cpu["of_which_worker"] == pytest.approx(cpu["temporal_server_and_workers"],
                                                                             abs=0.05)
