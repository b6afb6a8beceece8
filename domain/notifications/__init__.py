"""Notifications: an outbox of events (a task assigned, a reminder, a mention, ...) written in the transaction of
what caused them, each recipient's choice (at once, a daily digest, off), the webhooks admin registered, and one
delivery row per event, channel and target. The worker's dispatcher starts a Notify workflow per event."""
