"""Printed documents (a customer invoice, a customer statement) as PDF: rendered from jinja2 templates
(api/templates/print/) by WeasyPrint. What both the JSON routes and the pages use to answer a PDF.

WeasyPrint needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0) and a font
(fonts-dejavu-core); it is imported on first use, so the app starts without paying for it."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from api import i18n

TEMPLATES = Path(__file__).parent / "templates"


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
ENV.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]  # as the pages
ENV.filters.update(money=_money, label=i18n.label, when=i18n.when, number=i18n.number)
ENV.globals.update(locale=i18n.locale)  # a page's PDF is in its reader's language; the API's in English


def html(template: str, **ctx: Any) -> str:
    return ENV.get_template(f"print/{template}").render(**ctx)


def render(template: str, **ctx: Any) -> bytes:
    """The template as PDF bytes. No resource is fetched: the templates hold their own style."""
    from weasyprint import HTML  # heavy (Pango): loaded when the first PDF is asked for

    def no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"a printed document fetches nothing ({url[:60]})")

    return HTML(string=html(template, **ctx), base_url=str(TEMPLATES), url_fetcher=no_fetch).write_pdf()  # type: ignore[no-any-return]


async def response(template: str, filename: str, **ctx: Any) -> Response:
    """The PDF as a download (rendered off the event loop: a page of layout is tens of milliseconds)."""
    pdf = await asyncio.to_thread(render, template, **ctx)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"})
