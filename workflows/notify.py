"""Notify: tells people and webhooks about one event of the outbox (domain.notifications, `notify-<event id>`,
started by the worker's dispatcher). NotifyDigest: once a day, each digest reader's mail.

Process: the deliveries are written (recipients by their choice: an e-mail now, a line of tomorrow's digest, or
nothing; each webhook that asked for the event) → every e-mail and post at once, each an activity retried with
backoff (up to an hour apart) until it is delivered: a receiver that is down for a day gets it when it is back.
Each send is made once (a delivery already delivered is not sent again).
Waits: on the sends only. Children: none."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notify import NotifyActivities
    from domain.notifications.services import Plan

from workflows.common import run

# Until delivered: 1 s, 2 s, 4 s ... then every hour, without end (maximum_attempts 0).
DELIVERY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                             maximum_interval=timedelta(hours=1), maximum_attempts=0)
SEND_TIMEOUT = timedelta(seconds=60)
DIGEST_HOUR_UTC = 7


@workflow.defn
class Notify:
    @workflow.run
    async def run(self, event_id: int) -> str:
        plan: Plan = await run(NotifyActivities.plan_deliveries, event_id)
        sends = [workflow.execute_activity_method(NotifyActivities.send_email, d, start_to_close_timeout=SEND_TIMEOUT,
                                                  retry_policy=DELIVERY_RETRY) for d in plan.emails]
        sends += [workflow.execute_activity_method(NotifyActivities.post_webhook, d,
                                                   start_to_close_timeout=SEND_TIMEOUT, retry_policy=DELIVERY_RETRY)
                  for d in plan.webhooks]
        await asyncio.gather(*sends)
        return f"{len(plan.emails)} e-mails, {len(plan.webhooks)} webhook posts"


@workflow.defn
class NotifyDigest:
    """One run a day: sleeps until the next DIGEST_HOUR_UTC, sends the digests, continues as new."""

    @workflow.run
    async def run(self) -> None:
        now = workflow.now()
        at = now.replace(hour=DIGEST_HOUR_UTC, minute=0, second=0, microsecond=0)
        if at <= now:
            at += timedelta(days=1)
        await workflow.sleep(at - now)
        await workflow.execute_activity_method(NotifyActivities.send_digests, start_to_close_timeout=timedelta(minutes=10),
                                               retry_policy=DELIVERY_RETRY)
        workflow.continue_as_new()
