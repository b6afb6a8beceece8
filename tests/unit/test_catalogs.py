"""The UI's message catalogs (api/locale/zh_Hans/LC_MESSAGES/*.po) against the code that uses them: every text a
template marks with _() and every _()/N_() of the Python UI has a Simplified Chinese translation, that translation is
not the English left as it was (outside a short list of codes and units), keeps the message's %(name)s values, and
one msgid is translated alike in every .po file. Then the pages themselves: a template rendered in zh_Hans is in
Chinese, in en in English, money and dates per locale and in the viewer's time zone."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from api import i18n
from domain.accounting.rules import CHART

ROOT = Path(__file__).parents[2]
TEMPLATES = ROOT / "api" / "templates"
PO_DIR = ROOT / "api" / "locale" / "zh_Hans" / "LC_MESSAGES"
KEYWORDS = {"_": None, "N_": None, "gettext": None}
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
# What reads the same in Chinese: codes, units, abbreviations and names.
SAME_IN_CHINESE = frozenset({
    "BOM", "MRP", "PDF", "CSV", "SKU", "SLA", "UTC", "USD", "EUR", "CNY", "ID", "OK", "Valueloop", "Temporal", "p50",
    "p95", "p50 (h)", "p95 (h)", "%(n)s h", "English", "E-mail", "Email", "URL", "API", "PO", "SO", "AR", "AP",
})
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def template_messages() -> dict[str, list[str]]:
    """msgid → where it is used (template:line), from every template under api/templates."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(TEMPLATES.rglob("*.html")):
        for lineno, msg, _comments, _ctx in extract_from_file("jinja2", str(path), keywords=KEYWORDS,
                                                              options=JINJA_OPTIONS):
            for one in (msg if isinstance(msg, tuple) else (msg,)):
                if one:
                    found[one].append(f"{path.relative_to(TEMPLATES)}:{lineno}")
    return found


def python_messages() -> dict[str, list[str]]:
    """msgid → where it is used, from the _()/N_()/gettext() calls of the Python under api/ and the labels of codes."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "api").rglob("*.py")):
        for lineno, msg, _comments, _ctx in extract_from_file("python", str(path), keywords=KEYWORDS):
            for one in (msg if isinstance(msg, tuple) else (msg,)):
                if one:
                    found[one].append(f"{path.relative_to(ROOT)}:{lineno}")
    for code, english in i18n.LABELS.items():
        found[english].append(f"api/i18n.py LABELS[{code!r}]")
    for code, name, _kind in CHART:  # the account names the finance pages show (the account_name filter)
        found[name].append(f"domain/accounting/rules.py CHART[{code}]")
    return found


def po_files() -> dict[str, dict[str, str]]:
    """Each .po file's msgid → translation (fuzzy and empty ones left out, as the UI leaves them out)."""
    out: dict[str, dict[str, str]] = {}
    for po in sorted(PO_DIR.glob("*.po")):
        with po.open("rb") as f:
            out[po.name] = {str(m.id): str(m.string) for m in read_po(f, locale="zh")
                            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}
    return out


def _missing_report(missing: dict[str, list[str]]) -> str:
    per_file: dict[str, list[str]] = defaultdict(list)
    for msgid, where in missing.items():
        per_file[where[0].split(":")[0].split(" ")[0]].append(msgid)
    lines = [f"{len(missing)} messages have no zh_Hans translation:"]
    for file, ids in sorted(per_file.items()):
        lines.append(f"  {file}: {len(ids)}: " + "; ".join(repr(i) for i in ids[:8]) + (" …" if len(ids) > 8 else ""))
    return "\n".join(lines)


def test_every_message_of_the_ui_has_a_chinese_translation() -> None:
    catalog = i18n.catalog("zh_Hans")
    used = {**python_messages(), **template_messages()}
    missing = {m: where for m, where in used.items() if m not in catalog}
    assert not missing, _missing_report(missing)


def test_no_translation_is_the_english_left_as_it_was() -> None:
    catalog = i18n.catalog("zh_Hans")
    used = {**python_messages(), **template_messages()}
    same = sorted(m for m in used if catalog.get(m) == m and m not in SAME_IN_CHINESE and re.search(r"[A-Za-z]{2}", m))
    assert not same, f"{len(same)} translations equal their English: {same[:20]}"


def test_a_translation_keeps_the_values_of_its_message() -> None:
    wrong = []
    in_templates = set(template_messages())
    for name, messages in po_files().items():
        for msgid, text in messages.items():
            if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text)):
                wrong.append(f"{name}: {msgid!r} → {text!r}")
            # a template's message is always %-formatted, a Python one when it has values: a lone % in either
            # would fail when the page renders
            formatted = msgid in in_templates or PLACEHOLDER.search(msgid)
            for s in (msgid, text) if formatted else ():
                try:
                    s % dict.fromkeys(PLACEHOLDER.findall(s), "x")
                except (ValueError, TypeError, KeyError):
                    wrong.append(f"{name}: not a format string: {s!r}")
    assert not wrong, "\n".join(wrong[:20])


def test_one_message_is_translated_alike_in_every_catalog() -> None:
    seen: dict[str, tuple[str, str]] = {}
    differ = []
    for name, messages in po_files().items():
        for msgid, text in messages.items():
            if msgid in seen and seen[msgid][1] != text:
                differ.append(f"{msgid!r}: {seen[msgid][0]} says {seen[msgid][1]!r}, {name} says {text!r}")
            seen.setdefault(msgid, (name, text))
    assert not differ, "\n".join(differ[:20])


def test_every_po_file_declares_utf8() -> None:
    for po in sorted(PO_DIR.glob("*.po")):
        assert "charset=UTF-8" in po.read_text(encoding="utf-8"), po.name


# --- pages in each language -------------------------------------------------------------------------------------

def _render(template: str, locale: str, zone: str = "UTC", **ctx: object) -> str:
    from api.routes.ui.pages import ENV  # the pages' own environment: its filters, globals and gettext

    with i18n.use(locale, zone):
        return ENV.get_template(template).render(**ctx)


def test_the_login_page_in_chinese_and_in_english() -> None:
    zh = _render("login.html", "zh_Hans", login_csrf="x", next="")
    assert '<html lang="zh-Hans">' in zh and "登录" in zh and "用户名" in zh and "密码" in zh
    assert "Log in" not in zh and "Username" not in zh
    assert '<a href="/language?lang=en"' in zh  # the way back to English
    en = _render("login.html", "en", login_csrf="x", next="")
    assert '<html lang="en">' in en and "Log in" in en and "Username" in en and "登录" not in en
    assert '<a href="/language?lang=zh_Hans"' in en


def test_pick_prefers_the_users_setting_then_the_browser() -> None:
    assert i18n.pick(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh_Hans"
    assert i18n.pick(None, "en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert i18n.pick(None, "fr-FR, zh-TW;q=0.5") == "zh_Hans"
    assert i18n.pick(None, "de") == "en" and i18n.pick(None, None) == "en"
    assert i18n.pick("en", "zh-CN") == "en" and i18n.pick("zh_Hans", "en") == "zh_Hans"


def test_status_codes_are_shown_translated() -> None:
    with i18n.use("zh_Hans"):
        assert i18n.label("pending_approval") == "待审批"
        assert i18n.label("qualification") != "qualification" and i18n.label("sales_manager") != "sales manager"
    with i18n.use("en"):
        assert i18n.label("pending_approval") == "pending approval"
        assert i18n.label("some_new_code") == "some new code"  # a code without a label reads as before


def test_money_numbers_and_times_per_locale_and_time_zone() -> None:
    midnight = datetime(2026, 12, 6, 0, 0, tzinfo=UTC)
    with i18n.use("zh_Hans", "Asia/Shanghai"):
        assert i18n.when(midnight) == "2026-12-06 08:00"
        assert i18n.when(datetime(2026, 12, 6, 0, 0)) == "2026-12-06 08:00"  # a naive time is UTC
        assert i18n.when(date(2026, 12, 6)) == "2026-12-06"  # a day stays the day
        assert i18n.money(Decimal("1250.5")) == "1,250.50"
        assert i18n.hours(0.5) == "30 分钟"
    with i18n.use("en", "America/New_York"):
        assert i18n.when(midnight) == "2026-12-05 19:00"
        assert i18n.money(Decimal("-1250")) == "-1,250.00" and i18n.number(Decimal("12.5000")) == "12.5"
        assert i18n.hours(0.5) == "30 min"
    with i18n.use("en"):
        assert i18n.when(midnight) == "2026-12-06 00:00"


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_every_template_message_formats_in_each_language(locale: str) -> None:
    """Each message formats with its own values, in English and in its translation, as a page formats it (a
    translation with a wrong %(name)s or a lone % would fail the page)."""
    from api.routes.ui.pages import ENV

    snippet = ENV.from_string("{{ _(m, **v) }}")
    with i18n.use(locale):
        for msgid in template_messages():
            out = snippet.render(m=msgid, v=dict.fromkeys(PLACEHOLDER.findall(msgid), "1"))
            assert "%(" not in out, (msgid, out)
