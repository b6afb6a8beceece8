"""Activities of the Notify process: the deliveries an event makes (written once), one e-mail over SMTP
(aiosmtplib), one signed webhook post (httpx), and the daily digest. A send already delivered is not made again;
a failed one raises, and Temporal tries again with backoff until it goes through."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiosmtplib
import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import business_errors
from domain.core.db import Database
from domain.notifications import mail
from domain.notifications import services as notifications
from settings import Settings, get_settings

WEBHOOK_TIMEOUT = 10.0


class NotifyActivities:
    def __init__(self, db: Database, settings: Settings | None = None):
        self.db = db
        self.settings = settings or get_settings()

    @activity.defn
    @business_errors
    def plan_deliveries(self, event_id: int) -> notifications.Plan:
        """The event's recipients (its users and its roles' holders, by their choice) and webhooks, as delivery
        rows in one transaction; the e-mails and posts still to make."""
        with self.db.write() as s:
            return notifications.plan(s, event_id, email_on=bool(self.settings.smtp_host))

    def _attempted(self, delivery_id: int, attempt: int, error: str | None) -> None:
        with self.db.write() as s:
            notifications.attempted(s, delivery_id, attempt, error)

    def _message(self, to: str, subject: str, body: str) -> EmailMessage:
        """The mail; ValueError when it cannot be written (an address with a line break): no retry mends that."""
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.settings.smtp_from, to, subject
        msg.set_content(body)
        return msg

    def _give_up(self, delivery_ids: list[int], reason: str) -> None:
        with self.db.write() as s:
            notifications.give_up(s, delivery_ids, reason)

    async def _send_mail(self, msg: EmailMessage) -> None:
        st = self.settings
        await aiosmtplib.send(msg, hostname=st.smtp_host, port=st.smtp_port, username=st.smtp_username or None,
                              password=st.smtp_password or None, start_tls=st.smtp_starttls, timeout=30)

    @activity.defn
    async def send_email(self, delivery_id: int) -> str:
        """One e-mail, in the recipient's language; "delivered" (now or before) or "skipped"."""
        job = await asyncio.to_thread(self._email_job, delivery_id)
        if job is None:
            return "skipped"
        subject, body = mail.render(job.locale, job.full_name, job.event, self.settings.public_url)
        try:
            msg = self._message(job.to, subject, body)
        except ValueError as e:  # retried, it would fail the same way without end: skipped, the reason kept
            await asyncio.to_thread(self._give_up, [delivery_id], f"the mail cannot be written: {e}")
            return "skipped"
        try:
            await self._send_mail(msg)
        except (aiosmtplib.SMTPException, OSError) as e:
            await asyncio.to_thread(self._attempted, delivery_id, activity.info().attempt, f"SMTP: {e}")
            raise ApplicationError(f"the mail to {job.to} was not sent: {e}", type="SMTPError") from None
        await asyncio.to_thread(self._attempted, delivery_id, activity.info().attempt, None)
        return "delivered"

    def _email_job(self, delivery_id: int) -> notifications.EmailJob | None:
        with self.db.read() as s:
            return notifications.email_job(s, delivery_id)

    def _webhook_job(self, delivery_id: int) -> notifications.WebhookJob | None:
        with self.db.write() as s:
            return notifications.webhook_job(s, delivery_id, self.settings.public_url)

    @activity.defn
    async def post_webhook(self, delivery_id: int) -> str:
        """One signed post; a non-2xx answer or no answer raises (Temporal tries again)."""
        job = await asyncio.to_thread(self._webhook_job, delivery_id)
        if job is None:
            return "skipped"
        headers = {"Content-Type": "application/json", "User-Agent": "Valueloop-Webhook",
                   "X-Valueloop-Event": job.event, "X-Valueloop-Delivery": str(job.delivery_id),
                   "X-Valueloop-Signature": notifications.sign(job.secret, job.body)}
        error: str | None = None
        try:
            async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, follow_redirects=False) as http:
                r = await http.post(job.url, content=job.body, headers=headers)
            if not 200 <= r.status_code < 300:
                error = f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
        await asyncio.to_thread(self._attempted, delivery_id, activity.info().attempt, error)
        if error is not None:
            raise ApplicationError(f"webhook {job.url} did not take delivery {job.delivery_id}: {error}",
                                   type="WebhookError")
        return "delivered"

    def _digests(self) -> list[notifications.DigestJob]:
        with self.db.write() as s:
            return notifications.digests(s)

    def _digest_sent(self, ids: list[int], attempt: int) -> None:
        with self.db.write() as s:
            for delivery_id in ids:
                notifications.attempted(s, delivery_id, attempt, None)

    @activity.defn
    async def send_digests(self) -> int:
        """One mail per user with digest lines not yet sent; how many mails went. Without an SMTP server the
        lines wait."""
        if not self.settings.smtp_host:
            return 0
        sent, failed = 0, []
        for job in await asyncio.to_thread(self._digests):
            # One reader's mail that cannot be written or sent must not hold back everyone after them: the others
            # go, then the activity fails (and is tried again) for those not sent.
            subject, body = mail.render_digest(job.locale, job.full_name, job.events, self.settings.public_url)
            try:
                msg = self._message(job.to, subject, body)
            except ValueError as e:
                await asyncio.to_thread(self._give_up, job.delivery_ids, f"the mail cannot be written: {e}")
                continue
            try:
                await self._send_mail(msg)
            except (aiosmtplib.SMTPException, OSError) as e:
                failed.append(f"{job.to}: {e}")
                continue
            await asyncio.to_thread(self._digest_sent, job.delivery_ids, activity.info().attempt)
            sent += 1
        if failed:
            raise ApplicationError(f"{len(failed)} digest mail(s) not sent: {'; '.join(failed)}"[:1000],
                                   type="SMTPError")
        return sent
