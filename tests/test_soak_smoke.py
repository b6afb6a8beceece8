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
