"""`up` supervises its children: a child that dies is started again after a doubling backoff, each death and
restart logged; a child that keeps dying stops the platform. Real processes, a clock the test moves."""

from __future__ import annotations

import subprocess
import sys
import time

from cli import Supervised


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _exits(code: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", f"import sys; sys.exit({code})"])


def _dead(child: Supervised) -> None:
    assert child.proc is not None
    child.proc.wait(10)


def test_a_dead_child_is_started_again_after_a_doubling_backoff():
    clock, said, started = Clock(), [], []

    def start() -> subprocess.Popen[bytes]:
        started.append(clock.now)
        return _exits(3)

    child = Supervised("worker", start, first_delay=1, max_delay=4, max_failures=10, window=1000, clock=clock,
                       say=said.append)
    delays = []
    for _ in range(5):
        _dead(child)
        assert child.check() is True
        assert child.restart_at is not None
        delays.append(child.restart_at - clock.now)
        clock.now = child.restart_at - 0.01
        assert child.check() is True and len(started) == len(delays)  # not before its time
        clock.now = child.restart_at
        assert child.check() is True and len(started) == len(delays) + 1
    assert delays == [1, 2, 4, 4, 4]  # doubling, capped
    assert child.restarts == 5
    assert "worker exited with code 3; starting it again in 1 s" in said[0]
    assert any("running again (pid" in s for s in said)


def test_a_child_that_keeps_dying_stops_the_platform_but_old_deaths_are_forgotten():
    clock, said = Clock(), []
    child = Supervised("worker", lambda: _exits(1), first_delay=0.5, max_delay=1, max_failures=3, window=60,
                       clock=clock, say=said.append)
    for _ in range(2):
        _dead(child)
        assert child.check()
        clock.now = child.restart_at or clock.now
        assert child.check()
    clock.now += 61  # the two deaths so far are out of the window now
    for _ in range(2):
        _dead(child)
        assert child.check()
        clock.now = child.restart_at or clock.now
        assert child.check()
    _dead(child)
    assert child.check() is False  # third death within 60 s
    assert "3 times in 60 s; giving up" in said[-1]


def test_a_living_child_is_left_alone_and_stopped_on_request():
    said: list[str] = []
    child = Supervised("Temporal server",
                       lambda: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]),
                       say=said.append)
    try:
        for _ in range(3):
            assert child.check()
            time.sleep(0.05)
        assert child.restarts == 0 and said == []
    finally:
        child.stop()
    assert child.proc is not None and child.proc.poll() is not None
