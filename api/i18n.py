"""The UI's languages: English (the source strings) and Simplified Chinese, with numbers, money, dates and times
formatted per locale by Babel and shown in the viewer's time zone. The API stays English.

Templates mark text with `{{ _("…") }}` (jinja2's i18n extension, new style: `_("Hello %(name)s", name=x)`);
UI routes with `from api.i18n import _`. The catalogs are `api/locale/zh_Hans/LC_MESSAGES/*.po`, one file per
area of the UI, merged at start-up (a msgid translated twice must be translated alike). The locale and the
time zone of the page being rendered are context variables, set by `use(...)` for each request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from domain import permissions

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = ("en", "zh_Hans")
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文"}

_locale: ContextVar[str] = ContextVar("valueloop_locale", default=DEFAULT_LOCALE)
_zone: ContextVar[str] = ContextVar("valueloop_time_zone", default="UTC")


@cache
def catalog(locale: str) -> Mapping[str, str]:
    """msgid → translation of every .po file of the locale (untranslated and fuzzy entries left out)."""
    out: dict[str, str] = {}
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with po.open("rb") as f:
            for message in read_po(f, locale=locale.replace("_Hans", "")):
                if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                    out[message.id] = str(message.string)
    return out


def locale() -> str:
    return _locale.get()


def time_zone() -> str:
    return _zone.get()


def gettext(message: str, **variables: Any) -> str:
    text = message if _locale.get() == DEFAULT_LOCALE else catalog(_locale.get()).get(message, message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    return gettext(singular if n == 1 else plural, **variables)


_ = gettext


def pick(preferred: str | None, accept_language: str | None) -> str:
    """The user's own setting, else the first language of the browser's Accept-Language we have, else English."""
    if preferred in LOCALES:
        return preferred
    ranked: list[tuple[float, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q + i * 1e-6, tag.strip().lower()))
    for _q, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh_Hans"  # Traditional readers still read Simplified better than English (no zh_Hant catalog yet)
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@contextmanager
def use(locale_name: str, zone: str = "UTC") -> Iterator[None]:
    """Render in this locale and time zone (a request's pages and flash messages)."""
    t1 = _locale.set(locale_name if locale_name in LOCALES else DEFAULT_LOCALE)
    t2 = _zone.set(zone if zone and valid_zone(zone) else "UTC")
    try:
        yield
    finally:
        _locale.reset(t1)
        _zone.reset(t2)


def set_current(locale_name: str, zone: str = "UTC") -> None:
    """Like `use`, for the rest of the current task (a request handler runs in its own context copy)."""
    _locale.set(locale_name if locale_name in LOCALES else DEFAULT_LOCALE)
    _zone.set(zone if zone and valid_zone(zone) else "UTC")


def _babel_locale() -> Locale:
    return Locale.parse("zh_Hans_CN" if _locale.get() == "zh_Hans" else "en_US")


def money(value: Decimal | int | float | str | None) -> str:
    """An amount with two decimals and the locale's grouping (1,250.50); — for none. One format everywhere."""
    if value is None or value == "":
        return "—"
    return format_decimal(Decimal(str(value)), format="#,##0.00", locale=_babel_locale())


def number(value: Decimal | int | float | str | None, digits: int = 2) -> str:
    """A quantity: grouped, without trailing zeros beyond what it holds (12, 12.5, 1,200.25)."""
    if value is None or value == "":
        return "—"
    pattern = "#,##0." + "#" * digits if digits else "#,##0"
    return format_decimal(Decimal(str(value)), format=pattern, locale=_babel_locale())


def when(value: datetime | date | None) -> str:
    """A moment in the viewer's time zone (2026-12-06 20:15), a day as it is (2026-12-06)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return format_datetime(aware, "yyyy-MM-dd HH:mm", tzinfo=ZoneInfo(_zone.get()), locale=_babel_locale())
    return format_date(value, "yyyy-MM-dd", locale=_babel_locale())


def short_moment(value: datetime) -> str:
    """A moment as a compact label gives it (a business map's step), in the viewer's time zone: Dec 7 16:45,
    12月7日 16:45."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    zone, where = ZoneInfo(_zone.get()), _babel_locale()
    return (f"{format_skeleton('MMMd', aware, tzinfo=zone, locale=where)} "
            f"{format_datetime(aware, 'HH:mm', tzinfo=zone, locale=where)}")


def short_day(value: date) -> str:
    """A day as a chart's axis names it: Dec 6 / 12月6日."""
    return format_date(value, "MMM d", locale=_babel_locale())


def hours(value: float | Decimal | None) -> str:
    """A duration in hours as people read it: 35 min, 4.5 h, 3.2 d."""
    if value is None:
        return "—"
    h = float(value)
    if h < 1:
        return gettext("%(n)s min", n=round(h * 60))
    if h < 48:
        return gettext("%(n)s h", n=number(round(h, 1), 1))
    return gettext("%(n)s d", n=number(round(h / 24, 1), 1))


def N_(message: str) -> str:
    """Marks a message for the catalogs without translating it here (it is translated where it is shown)."""
    return message


_CODES = (
    # statuses and stages of documents, tasks, processes and steps
    "accepted", "active", "approved", "assigned", "cancelled", "closed", "closing", "completed", "current",
    "delivering", "disqualified", "done", "draft", "escalated", "expired", "failed", "in_fulfilment", "lost",
    "negotiation", "new", "not reached", "open", "ordered", "overdue", "paid", "partially delivered",
    "partially_received", "pending_approval", "pending_credit", "pending_credit_approval", "planning", "proposal",
    "qualification", "qualified", "ready to deliver", "received", "rejected", "released", "reserved", "reserving",
    "running", "sent", "skipped", "submitted", "todo", "waiting for stock", "waiting for supply", "waiting_material",
    "won", "written_off", "approve", "reject", "alert", "approval", "in", "out", "customer", "supplier",
    # (the roles: from domain.permissions, below)
    # process types
    "customer_invoice", "expense_claim", "lead_to_order", "payment", "period_close", "production_order", "purchase",
    "purchase_return", "quotation", "sales_order", "sales_return", "supplier_invoice",
    "form_request", "sent_back",  # a request on a form (issue 19) and its status while sent back for changes
    # kinds: items, orders, issue methods, MRP exceptions, lead sources, activities, expense categories
    "backflush", "kitted", "manufactured", "purchased", "production", "release in the past",
    "supply late for demand", "capacity overload", "cold_call", "other", "partner", "referral", "trade_show", "website", "call", "email",
    "meeting", "note", "entertainment", "lodging", "meals", "office", "training", "transport", "travel",
    # what a month-end close's checks name (domain/cash/close.py)
    "customer invoice awaiting approval", "supplier bill awaiting approval", "invoice awaiting approval",
    "delivery not yet invoiced", "return without its credit note", "Nothing unposted dated in the period", "every document dated in it is posted",
    # the steps of the processes' business maps (domain/processes/monitor.py)
    "awaiting payment", "awaiting goods", "requested", "decided", "credit check", "kitting", "MRP",
    "waiting for material", "in production", "allocated", "collecting", "returned", "recorded", "proposed", "applied",
    "checks", "withdrawn", "planning failed", "late", "checks_failed",
    # quality (issue 20): lot statuses, what became of rejected goods, the process, its stages, its task's kind
    "inspected", "scrapped", "inspection", "awaiting inspection", "inspect",
    # the dashboard's open tasks offered to one person rather than a role (domain/dashboard.py)
    "named person",
    # the earnings lines the balance sheet computes (domain/accounting/statements.py)
    "Retained earnings", "Current-year earnings",
)
_ROLES = {role for roles in permissions.DEFAULT_GRANTS.values() for role in roles} | permissions.NON_APPROVING_ROLES
LABELS: dict[str, str] = {code: code.replace("_", " ") for code in (*_CODES, *sorted(_ROLES))}
"""The codes pages show (statuses, stages, roles, process types, kinds), each with its English label (the code
with spaces, as the pages always wrote it); the `label` filter translates the label. Their translations are in
core.po; tests/unit/test_catalogs.py checks each has one."""


def label(code: object) -> str:
    """A status, stage, role or kind code as the viewer reads it: pending_approval → pending approval / 待审批."""
    text = str(code or "")
    return gettext(LABELS.get(text, text.replace("_", " ")))
