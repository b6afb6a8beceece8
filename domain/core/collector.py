"""Pausing Python's cyclic garbage collector around work that makes many small objects which all stay alive until
it ends (an MRP run, kitting over all open orders, a promise, a net-change re-plan): the collector would walk them
again and again and could free none. It runs again afterwards, if it was running before."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
