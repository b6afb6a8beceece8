"""Activities' write transactions on SQLite take turns on an in-process lock (activities.OneWriterAtATime): a
second writer starts when the first has committed, sees its row, and nothing is lost; PostgreSQL is left as it is."""

from __future__ import annotations

import inspect
import threading
import time
from pathlib import Path

from sqlalchemy import text

from activities import OneWriterAtATime, all_activities, one_writer
from domain.core.db import Database


def test_writers_take_turns_and_see_each_others_commits(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/w.db")
    try:
        with db.write() as s:
            s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
        one, other = one_writer(db), one_writer(db)  # two activity sets of one worker: one lock
        assert isinstance(one, OneWriterAtATime) and one._writer is other._writer
        first_in, order = threading.Event(), []

        def first() -> None:
            with one.write() as s:
                s.execute(text("INSERT INTO t (who) VALUES ('first')"))
                first_in.set()
                time.sleep(0.2)  # the second waits on the lock meanwhile, not in SQLite's busy handler
                order.append("first commits")

        def second() -> None:
            first_in.wait()
            with other.write() as s:
                order.append("second begins")
                seen = s.execute(text("SELECT who FROM t")).scalars().all()
                s.execute(text("INSERT INTO t (who) VALUES ('second')"))
            order.append(f"second saw {seen}")

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert order == ["first commits", "second begins", "second saw ['first']"]
        with db.read() as s:
            assert s.execute(text("SELECT who FROM t ORDER BY id")).scalars().all() == ["first", "second"]
    finally:
        db.dispose()


def test_a_write_inside_a_write_on_one_thread_does_not_wait_for_itself(tmp_path: Path) -> None:
    db = one_writer(Database(f"sqlite:///{tmp_path}/w.db"))
    try:
        t0 = time.perf_counter()
        with db.write(), db.write() as inner:  # the outer has not begun its transaction yet
            inner.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        assert time.perf_counter() - t0 < 5
    finally:
        db.dispose()


def test_postgresql_writers_are_left_side_by_side() -> None:
    db = Database("postgresql://postgres@127.0.0.1:5432/nowhere")  # no connection is made
    assert one_writer(db) is db
    bound = [a for a in all_activities(db) if inspect.ismethod(a)]
    assert bound and all(vars(a.__self__)["db"] is db for a in bound)


def test_the_activities_of_a_sqlite_database_write_in_turn(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/w.db")
    try:
        bound = [a for a in all_activities(db) if inspect.ismethod(a)]
        writers = {id(vars(a.__self__)["db"]._writer) for a in bound}
        assert bound and len(writers) == 1
    finally:
        db.dispose()
