"""Temporal activities: each one short transaction over the domain, idempotent under retry.

A domain refusal inside an activity is a business answer, not a fault: it becomes a
non-retryable ApplicationError whose `type` is the error kind, so the workflow (and through it
the API) can tell a Conflict from a crash."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import DataError, SQLAlchemyError
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from domain.core.db import Database
from domain.core.errors import DomainError

F = TypeVar("F", bound=Callable[..., Any])


def business_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as e:
            raise ApplicationError(e.message, type=e.kind, non_retryable=True) from e
        except (DataError, OverflowError) as e:  # a value the database cannot hold: retrying cannot help
            raise ApplicationError(f"a value is out of range: {_short(e)}", type="invalid", non_retryable=True) from None
        except SQLAlchemyError as e:
            # Retried (the database may be back soon), under a short message: the whole error with its SQL, its
            # parameters and the chained driver error goes over Temporal's failure size limit, and the monitor
            # and the Temporal UI then see only "Failure exceeds size limit" instead of why it fails.
            raise ApplicationError(f"database error: {_short(e)}", type=type(e).__name__) from None

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps fn's signature; mypy sees only the wrapper's


def _short(e: BaseException, limit: int = 300) -> str:
    """The driver's own message (not the SQL SQLAlchemy appends), on one line, cut to `limit` characters."""
    text = " ".join(str(getattr(e, "orig", None) or e).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


_WRITERS: dict[str, threading.RLock] = {}  # per SQLite database (url): this process's one writer at a time
_WRITERS_GUARD = threading.Lock()
WRITER_WAIT = 60.0  # seconds, as the SQLite busy timeout: past it the transaction goes on and SQLite decides


class OneWriterAtATime(Database):
    """The same database (its engines and session factories), whose write transactions in this process take
    their turn on a lock before SQLite's. SQLite has one writer at a time; without the lock, activity threads
    that find the database locked poll for it with SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20,
    25… ms between tries, so a writer often sleeps on after the lock is free. On a lock the next writer starts
    the moment the last one commits. Measured: 8 threads × 40 activity-sized transactions, p95 of a
    transaction 26–35 ms with the busy handler, 9–12 ms with the lock; wall time 0.44–0.47 s → 0.31–0.39 s
    (`python -m bench.sqlite_writers`, issue 21). Reentrant: a write opened inside another on the same thread
    (before the outer one has begun its transaction) does not wait for itself. Writers of other processes
    (the API) still meet SQLite's busy handler."""

    def __init__(self, db: Database) -> None:  # no new engines: the wrapped database's own
        self.__dict__.update(db.__dict__)
        with _WRITERS_GUARD:
            self._writer = _WRITERS.setdefault(db.url, threading.RLock())

    @contextmanager
    def write(self) -> Iterator[Session]:
        taken = self._writer.acquire(timeout=WRITER_WAIT)
        try:
            with super().write() as session:
                yield session
        finally:
            if taken:
                self._writer.release()


def one_writer(db: Any) -> Any:
    """`db` with its writes in turn (OneWriterAtATime) when it is a SQLite database; as it is otherwise
    (PostgreSQL: the services lock the rows they change, writers run side by side)."""
    if isinstance(db, Database) and not isinstance(db, OneWriterAtATime) and db.is_sqlite:
        return OneWriterAtATime(db)
    return db


def all_activities(db: Any, settings: Any = None) -> list[Callable[..., Any]]:
    """Every activity of the platform, bound to one database (and the notifications' to `settings`: SMTP; None:
    the environment's). On SQLite their write transactions take turns on an in-process lock (OneWriterAtATime)."""
    db = one_writer(db)
    from activities.approvals import ApprovalActivities
    from activities.bills import BillActivities
    from activities.changes import ChangeActivities
    from activities.crm import CrmActivities
    from activities.customer_invoices import CustomerInvoiceActivities
    from activities.expenses import ExpenseActivities
    from activities.forms import FormRequestActivities
    from activities.mrp_release import MrpReleaseActivities
    from activities.payments import PaymentActivities
    from activities.period_close import CloseActivities
    from activities.production import ProductionActivities
    from activities.purchase_returns import PurchaseReturnActivities
    from activities.purchasing import PurchaseActivities
    from activities.quality import QualityActivities
    from activities.returns import ReturnActivities
    from activities.sales import SalesActivities

    out: list[Callable[..., Any]] = []
    for cls in (ApprovalActivities, CrmActivities, ExpenseActivities, ProductionActivities, PurchaseActivities,
                SalesActivities, BillActivities, PaymentActivities, CloseActivities, CustomerInvoiceActivities,
                ReturnActivities, PurchaseReturnActivities, ChangeActivities, FormRequestActivities,
                MrpReleaseActivities, QualityActivities):
        obj = cls(db)
        out += [getattr(obj, name) for name in dir(obj)
                if hasattr(getattr(obj, name), "__temporal_activity_definition")]
    from activities.notify import NotifyActivities

    notify = NotifyActivities(db, settings)
    out += [getattr(notify, name) for name in dir(notify)
            if hasattr(getattr(notify, name), "__temporal_activity_definition")]
    return out
