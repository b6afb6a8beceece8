"""The scale-out soak (bench/scale_soak.py) in small: PostgreSQL, two API processes behind nginx, two workers with
area queues, one Temporal server; worker 1 and API 1 killed with SIGKILL and started again part-way. Nothing lost,
nothing done twice, the sub-ledgers reconciled. Needs PostgreSQL (DATABASE_URL's server, else 127.0.0.1:5432) and
nginx; slow (3 minutes here: a request in flight on the killed API waits out its abandoned Idempotency-Key, 2
minutes): not in `make test`."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from bench import scale_soak, soak

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _server() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql://" + url.split("://", 1)[1].rsplit("/", 1)[0]
    return scale_soak.PG


def _reachable(server: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{server}/postgres", connect_timeout=3):
            return True
    except Exception:
        return False


def _nginx() -> bool:
    return bool(shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"))


async def test_a_scaled_soak_with_kills_loses_nothing() -> None:
    server = _server()
    if not _reachable(server) or not _nginx():
        pytest.skip("needs PostgreSQL and nginx")
    res = await scale_soak.run(processes=60, concurrency=8, rounds=1, warmup=5, pg=server,
                               database=f"valueloop_scale_{uuid.uuid4().hex[:8]}")
    assert res["check"]["problems"] == []
    assert [k["what"] for k in res["kills"]] == ["worker 1", "api 1"]
    assert res["restarts"] == {"worker 1": 1, "worker 2": 0, "api 1": 1, "api 2": 0}
    assert res["valid"], res["ours"]["first_errors"] + res["skeleton"]["first_errors"]
    assert res["ours"]["flows"] == res["skeleton"]["flows"] == 60
    assert set(res["ours"]["types"]) == set(soak.TYPES)
    assert res["check"]["process_rows_by_status"] == {"completed": res["check"]["rows"]["processes"]}
    assert res["check"]["duplicated_journal_entries"] == res["check"]["duplicated_decisions"] == 0
