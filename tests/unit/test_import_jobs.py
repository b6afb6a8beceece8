"""A CSV import whose API process stopped while it ran is marked refused at the next start, not "importing" for
ever; its one transaction never committed, so nothing of it is stored."""

from __future__ import annotations

from datetime import timedelta

from domain.core.db import Database
from domain.core.types import utcnow
from domain.parties import jobs


def test_an_import_interrupted_by_a_stop_is_refused_and_others_are_left_alone(fresh_db: Database) -> None:
    with fresh_db.write() as s:
        running = jobs.create(s, "items", "a.csv", "sku,name\nA,a\n", 1, "carol", [])
        jobs.start(s, running, "carol")
        checked = jobs.create(s, "items", "b.csv", "sku,name\nB,b\n", 1, "carol", [])
        finished = jobs.create(s, "items", "c.csv", "sku,name\nC,c\n", 1, "carol", [])
        jobs.start(s, finished, "carol")
        jobs.finish(s, finished, True, "imported")
    with fresh_db.write() as s:
        assert jobs.sweep_interrupted(s, utcnow() - timedelta(hours=1)) == 0  # started after that moment: kept
        assert jobs.sweep_interrupted(s, utcnow() + timedelta(seconds=1)) == 1
    with fresh_db.read() as s:
        job = jobs.get(s, running, "carol")
        assert job.status == jobs.FAILED and "interrupted" in job.message and job.content == ""
        assert jobs.get(s, checked, "carol").status == jobs.CHECKED
        assert jobs.get(s, finished, "carol").status == jobs.DONE
