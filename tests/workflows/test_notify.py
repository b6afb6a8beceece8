"""The Notify process on the time-skipping server: a webhook receiver that is down for two days gets the event
once it is back (Temporal's retries, up to an hour apart, never give up), each failed try counted on the delivery
row; a delivery made before is not made again when the process runs once more."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from domain.notifications import services as notifications
from domain.notifications.tables import NotificationDelivery
from tests.e2e.test_notifications import SECRET, Receiver, receiver_server
from workflows.notify import Notify


def _delivery(db) -> NotificationDelivery:
    with db.read() as s:
        [row] = s.execute(select(NotificationDelivery).where(NotificationDelivery.channel == "webhook")).scalars()
        return row


async def test_a_receiver_down_for_two_days_gets_the_event_when_it_is_back(worker, db, task_queue, time_env):
    rec = Receiver(fail=10**6)  # down until told otherwise
    http = receiver_server(rec)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        with db.write() as s:
            notifications.add_webhook(s, "admin", notifications.WebhookIn(
                url=f"http://127.0.0.1:{http.server_port}/flaky", events=["mention"], secret=SECRET))
            notifications.emit(s, "mention", key="m-1", users=["erin"], document="EC-00001", title="a mention")
            [event_id] = notifications.undispatched(s)
        handle = await worker.start_workflow(Notify.run, event_id, id=f"{task_queue}/notify-{event_id}",
                                             task_queue=task_queue)
        await time_env.sleep(timedelta(days=2))
        down = _delivery(db)
        # 1 s, 2 s, 4 s ... then hourly: some 60 tries in two days, each one counted, none delivered
        assert down.status == "failed" and 40 < down.attempts < 80 and down.last_error == "HTTP 500"
        with rec.lock:
            rec.fail = 0
        assert await handle.result() == "0 e-mails, 1 webhook posts"
        up = _delivery(db)
        assert up.status == "delivered" and up.attempts > down.attempts and up.last_error == ""
        assert len(rec.on("/flaky")) == 1 and all(p["signed"] for p in rec.posts)

        # the same event once more (a second dispatch): the delivery is made already, nothing is posted
        again = await worker.execute_workflow(Notify.run, event_id, id=f"{task_queue}/notify-{event_id}-again",
                                              task_queue=task_queue)
        assert again == "0 e-mails, 0 webhook posts" and len(rec.on("/flaky")) == 1
    finally:
        http.shutdown()
