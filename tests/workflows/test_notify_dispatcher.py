"""The notifications dispatcher restarted mid-way (helper H8, issue 19): events whose Notify process was started but
not yet marked dispatched are dispatched again after a restart, and that starts no second Notify for them (one
process per event id, even after the first one ended); a pass with nothing new starts nothing."""

from __future__ import annotations

from sqlalchemy import select

from domain.notifications import services as notifications
from domain.notifications.tables import NotificationEvent
from worker import dispatch_once, start_once
from workflows.notify import Notify


async def test_an_event_dispatched_twice_makes_one_notify_process(worker, db, task_queue):
    with db.write() as s:
        for n in range(2):
            notifications.emit(s, "mention", key=f"m-{n}", users=["erin"], document="EC-00001", title="a mention")
        ids = notifications.undispatched(s)
    prefix = f"{task_queue}/"
    # the dispatcher before its crash: both processes started, the first already ended, neither marked
    for event_id in ids:
        await start_once(worker, Notify.run, f"{prefix}notify-{event_id}", task_queue, event_id)
    first = worker.get_workflow_handle(f"{prefix}notify-{ids[0]}")
    await first.result()
    runs = {i: (await worker.get_workflow_handle(f"{prefix}notify-{i}").describe()).run_id for i in ids}
    # restarted: the same events again
    assert await dispatch_once(worker, db, task_queue, id_prefix=prefix) == 2
    for i in ids:
        desc = await worker.get_workflow_handle(f"{prefix}notify-{i}").describe()
        assert desc.run_id == runs[i]  # not started a second time
    with db.read() as s:
        assert all(e.dispatched_at is not None for e in s.execute(select(NotificationEvent)).scalars())
    assert await dispatch_once(worker, db, task_queue, id_prefix=prefix) == 0
