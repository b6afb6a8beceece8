"""SQLite writers in one process, as a worker's activity threads: 8 threads x 40 write transactions (BEGIN
IMMEDIATE, an insert and an update, some Python work inside) on one SQLite file in WAL, with SQLite's busy handler
alone and with an in-process lock taken first (activities.OneWriterAtATime). Wall time, p50 and p95 of one
transaction, twice each.

    python -m bench.sqlite_writers
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time

from sqlalchemy import text

from domain.core.db import make_engine


def run(lock: threading.Lock | None) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as d:
        return _run(lock, d)


def _run(lock: threading.Lock | None, d: str) -> tuple[float, float, float]:
    eng = make_engine(f"sqlite:///{d}/x.db", immediate=True)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        c.exec_driver_sql("CREATE TABLE u (id INTEGER PRIMARY KEY, n INTEGER)")
        c.exec_driver_sql("INSERT INTO u VALUES (1, 0)")
    lat: list[float] = []

    def work() -> None:
        for _ in range(40):
            t0 = time.perf_counter()
            if lock:
                lock.acquire()
            try:
                with eng.begin() as c:
                    c.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": "x" * 100})
                    sum(range(20000))  # python work holding the transaction
                    c.execute(text("UPDATE u SET n = n + 1 WHERE id = 1"))
            finally:
                if lock:
                    lock.release()
            lat.append(time.perf_counter() - t0)
            time.sleep(0.003)
    ts = [threading.Thread(target=work) for _ in range(8)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    eng.dispose()
    lat.sort()
    return wall, statistics.median(lat) * 1000, lat[int(len(lat) * .95)] * 1000



def main() -> None:
    for name, lock in (("sqlite busy handler", None), ("threading.Lock", threading.Lock())) * 2:
        w, p50, p95 = run(lock)
        print(f"{name:22} wall {w:.2f} s  txn p50 {p50:.1f} ms p95 {p95:.1f} ms", flush=True)
    with open("/proc/loadavg") as f:
        print("load", f.read().strip())


if __name__ == "__main__":
    main()
