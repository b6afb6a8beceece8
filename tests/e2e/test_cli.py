"""`valueloop up` as a user runs it: starts, answers /healthz, stops on SIGTERM; a taken port → exit 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port

pytestmark = pytest.mark.e2e
VALUELOOP = [sys.executable, "-m", "cli"]
ROOT = Path(__file__).resolve().parents[2]


def test_taken_port_is_one_clear_line_and_exit_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([*VALUELOOP, "up", "--port", str(port), "--data-dir", str(tmp_path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and f"port {port}" in r.stderr and "in use" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_an_api_port_that_is_the_temporal_uis_is_refused_before_anything_starts(tmp_path):
    """--port 8311 with --temporal-port 7311: the Temporal UI (+1000) would take the API's port and /healthz
    would answer from the wrong server; one line, exit 2."""
    r = subprocess.run([*VALUELOOP, "up", "--port", "18311", "--temporal-port", "17311", "--data-dir",
                        str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "port 18311 is the Temporal server's" in r.stderr and "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "valueloop.db").exists()


def test_up_demo_serves_and_stops_cleanly_on_sigterm(tmp_path):
    port, tport = free_port(), free_port()
    while not (0 < tport + 1000 < 65535):
        tport = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([*VALUELOOP, "up", "--demo", "--port", str(port), "--temporal-port", str(tport),
                             "--data-dir", str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert health is not None and health.json() == {"status": "ok", "temporal": "ok", "database": "ok"}
        token = httpx.post(f"http://127.0.0.1:{port}/api/auth/token",
                           data={"username": "heidi", "password": "demo"}).json()["access_token"]
        items = httpx.get(f"http://127.0.0.1:{port}/api/items", headers={"Authorization": f"Bearer {token}"})
        assert {"MOTOR-200W", "STEEL-SHEET"} <= {i["sku"] for i in items.json()}
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "demo company loaded" in out and f"http://127.0.0.1:{port}/" in out
    assert (tmp_path / "temporal.db").exists() and (tmp_path / "valueloop.db").exists()
    # the Temporal child is gone with it
    with socket.socket() as s:
        s.bind(("127.0.0.1", tport))
