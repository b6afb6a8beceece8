"""Issue 19 in a real browser, for the closing note: admin designs "IT equipment purchase" in the designer
(/form-types/new: fields, an "all of" step for it and finance, the cfo above 5,000), previews the route a
sample request would take, and saves it; erin files one from the "New request" page with a PDF quote attached;
tom opens his task and asks "@erin which model?" in a comment; the request's page shows its route as a map;
admin's /webhooks page. Full-page screenshots in test-artifacts/screenshots/oa/<lang>/NNN-<name>.png, the English
walk in `make test`, the Chinese one (the browser asks for zh-CN; the words looked for come from the UI's own
catalog) marked slow. No console error."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from api.i18n import catalog
from tests.browser import test_ui
from tests.browser.test_ui import UI

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "oa"
LOCALE = {"en": "en-US", "zh": "zh-CN"}
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


@dataclass
class Walk:
    ui: UI
    lang: str
    n: int = 0
    pages: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shots = SHOTS / self.lang
        self.shots.mkdir(parents=True, exist_ok=True)
        for old in self.shots.glob("*.png"):
            old.unlink()

    def t(self, message: str, **variables: Any) -> str:
        """The words the page shows: English, or the Chinese of the UI's own catalog."""
        text = message if self.lang == "en" else catalog("zh_Hans").get(message, message)
        return text % variables if variables else text

    async def shot(self, page: Any, name: str) -> Path:
        self.n += 1
        await page.wait_for_load_state("load")
        path = self.shots / f"{self.n:03d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        if self.lang == "zh":
            assert (await page.locator("html").get_attribute("lang") or "").startswith("zh"), page.url
        return path

    def label(self, page: Any, text: str, exact: bool = True) -> Any:
        return page.get_by_label(self.t(text), exact=exact)

    def button(self, page: Any, text: str) -> Any:
        return page.get_by_role("button", name=self.t(text), exact=True)

    async def submit(self, page: Any, button: Any, refused_ok: bool = False) -> None:
        """Press a form's button (or follow a link) and wait for the page it leads to; a refusal fails the walk
        with its sentence, unless `refused_ok`."""
        async with page.expect_navigation() as nav:
            await button.click()
        response = await nav.value
        if refused_ok:
            return
        error = page.locator(".flash.error")
        assert not await error.count(), await error.first.inner_text()
        assert response is None or response.status < 400, f"{page.url} answered {response.status}"

    async def login(self, username: str) -> Any:
        if username in self.pages:
            return self.pages[username]
        context = await self.ui.browser.new_context(base_url=self.ui.base, locale=LOCALE[self.lang],
                                                    viewport={"width": 1280, "height": 800})
        context.set_default_timeout(20_000)
        self.ui.contexts.append(context)
        page = await context.new_page()
        page.on("console", lambda m: self.ui.errors.append(f"{m.text} [{page.url}]") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.ui.errors.append(f"uncaught: {e} [{page.url}]"))
        await page.goto("/login")
        await self.label(page, "Username").fill(username)
        await self.label(page, "Password").fill("demo")
        await self.submit(page, self.button(page, "Log in"))
        self.pages[username] = page
        return page

    async def until(self, page: Any, url: str, locator: str, text: str, tries: int = 100) -> Any:
        """Reload `url` until `locator` holds `text` (a process moves on in the background)."""
        for _ in range(tries):
            await page.goto(url)
            loc = page.locator(locator, has_text=text)
            if await loc.count():
                return loc.first
            await asyncio.sleep(0.1)
        raise AssertionError(f"{url}: no {locator} with {text!r}")


async def design_it_equipment(w: Walk) -> None:
    admin = await w.login("admin")
    await admin.goto("/form-types")
    await w.submit(admin, admin.get_by_role("link", name=w.t("New form type")))
    await w.label(admin, "Key").fill("it_equipment")
    await w.label(admin, "Name").fill(w.t("IT equipment purchase"))
    fields = [("item", w.t("Item"), "text"), ("amount", w.t("Amount"), "money"), ("quote", w.t("Quote"), "attachment")]
    for n, (name, label, kind) in enumerate(fields, start=1):
        await admin.get_by_label(w.t("Field %(n)s: name", n=n), exact=True).fill(name)
        await admin.get_by_label(w.t("Field %(n)s: label", n=n), exact=True).fill(label)
        await admin.get_by_label(w.t("Field %(n)s: type", n=n), exact=True).select_option(kind)
        await admin.get_by_label(w.t("Field %(n)s: required", n=n), exact=True).select_option("1")
    await admin.get_by_label(w.t("Field %(n)s: min", n=2), exact=True).fill("0")
    await admin.get_by_label(w.t("Step %(n)s: name", n=1), exact=True).fill(w.t("IT and finance"))
    await admin.get_by_label(w.t("Step %(n)s: approvers", n=1), exact=True).fill("role:it, role:finance")
    await admin.get_by_label(w.t("Step %(n)s: any or all", n=1), exact=True).select_option("all")
    await admin.get_by_label(w.t("Step %(n)s: name", n=2), exact=True).fill("CFO")
    await admin.get_by_label(w.t("Step %(n)s: approvers", n=2), exact=True).fill("role:cfo")
    await admin.get_by_label(w.t("Step %(n)s: condition field", n=2), exact=True).fill("amount")
    await admin.get_by_label(w.t("Step %(n)s: comparison", n=2), exact=True).select_option(">")
    await admin.get_by_label(w.t("Step %(n)s: condition value", n=2), exact=True).fill("5000")
    await w.shot(admin, "designer")
    # the preview shows the form as erin will see it; with sample values, the route it would take (nothing saved)
    await w.submit(admin, w.button(admin, "Preview"), refused_ok=True)
    await admin.locator("#sample_requester").select_option("erin")
    await admin.locator("#sample_item").fill("ThinkPad X1 Carbon")
    await admin.locator("#sample_amount").fill("6000")
    await admin.locator("#sample_quote").select_option("1")
    await w.submit(admin, w.button(admin, "Preview"))
    route = await admin.locator(".route-preview").inner_text()
    assert "CFO" in route and "heidi" in route and "tom" in route and "grace" in route, route
    await admin.locator("#preview").scroll_into_view_if_needed()
    await w.shot(admin, "designer-preview")
    await admin.locator("#sample_amount").fill("800")
    await w.submit(admin, w.button(admin, "Preview"))
    assert "CFO" not in await admin.locator(".route-preview").inner_text()
    await w.submit(admin, w.button(admin, "Publish"))
    assert "it_equipment" in await admin.locator(".flash.ok").inner_text()
    await w.shot(admin, "form-type-published")


async def file_request(w: Walk, tmp: Path) -> str:
    erin = await w.login("erin")
    await erin.get_by_role("link", name=w.t("My requests")).first.click()
    await w.submit(erin, erin.get_by_role("link", name=w.t("New request")))
    await w.shot(erin, "pick-a-form")
    await w.submit(erin, erin.get_by_role("link", name=w.t("IT equipment purchase")))
    await erin.get_by_label(w.t("Item"), exact=True).fill("ThinkPad X1 Carbon Gen 12")
    await erin.get_by_label(w.t("Amount"), exact=True).fill("6,000")
    quote = tmp / "quote-x1.pdf"
    quote.write_bytes(PDF)
    await erin.get_by_label(w.t("Quote"), exact=True).set_input_files(str(quote))
    await w.shot(erin, "new-request")
    await w.submit(erin, w.button(erin, "Submit"))
    flash = await erin.locator(".flash.ok").inner_text()
    found = re.search(r"FR-\d+", flash)
    assert found, flash
    assert "quote-x1.pdf" in await erin.locator("main").inner_text()
    await w.shot(erin, "request-filed")
    return found.group(0)


async def tom_comments(w: Walk, fr: str) -> None:
    tom = await w.login("tom")
    row = await w.until(tom, "/inbox", "table.inbox tbody tr", fr)
    await w.shot(tom, "inbox-tom")
    await row.get_by_role("link").first.click()
    await tom.wait_for_url("**/tasks/*")
    doc = await tom.locator(".card.doc").inner_text()
    assert "ThinkPad X1 Carbon Gen 12" in doc and "6,000.00" in doc, doc  # what erin asks for, as she filled it in
    await w.label(tom, "Add a comment").fill("@erin which model?")
    await w.submit(tom, w.button(tom, "Post comment"))
    assert "@erin which model?" in await tom.locator("main").inner_text()
    await w.shot(tom, "task-with-comment")


async def approve_in_inbox(w: Walk, user: str, fr: str) -> None:
    page = await w.login(user)
    row = await w.until(page, "/inbox", "table.inbox tbody tr", fr)
    await row.get_by_role("link").first.click()
    await page.wait_for_url("**/tasks/*")
    await w.submit(page, w.button(page, "Approve"))


async def request_map(w: Walk, fr: str) -> None:
    """erin answers tom; tom and grace approve (the "all of" step done), the map shows the cfo's step open;
    heidi approves, the map shows every step done and the trail who decided."""
    erin = await w.login("erin")
    await erin.goto(f"/requests/{fr}")
    await w.label(erin, "Add a comment").fill("The X1 Carbon Gen 12, 32 GB: see the quote.")
    await w.submit(erin, w.button(erin, "Post comment"))
    await approve_in_inbox(w, "tom", fr)
    await approve_in_inbox(w, "grace", fr)
    await w.until(erin, f"/requests/{fr}", ".route-map li.st-active", "CFO")
    route = await erin.locator(".route-map").inner_text()
    assert w.t("IT and finance") in route and "tom" in route and "grace" in route, route
    await w.shot(erin, "request-map")
    await approve_in_inbox(w, "heidi", fr)
    await w.until(erin, f"/requests/{fr}", ".route-map li.st-done", "CFO")
    assert "heidi" in await erin.locator(".route-map").inner_text()
    await w.shot(erin, "request-approved")


async def webhooks_page(w: Walk) -> None:
    admin = await w.login("admin")
    await admin.goto("/webhooks")
    await w.label(admin, "Address (http or https)").fill("https://hooks.example.com/valueloop")
    await w.label(admin, "Secret").fill("s3cret-for-signing")
    await w.submit(admin, w.button(admin, "Register"))
    assert "hooks.example.com" in await admin.locator("main").inner_text()
    await w.shot(admin, "webhooks")


async def walk(ui: UI, lang: str, tmp: Path) -> None:
    w = Walk(ui, lang)
    await design_it_equipment(w)
    fr = await file_request(w, tmp)
    await tom_comments(w, fr)
    await request_map(w, fr)
    await webhooks_page(w)
    ui.assert_no_console_errors(422)  # the first Preview, before the sample values: "Amount is required"


async def test_oa_walk_in_english(ui: UI, tmp_path: Path) -> None:
    await walk(ui, "en", tmp_path)


@pytest.mark.slow
async def test_oa_walk_in_chinese(ui: UI, tmp_path: Path) -> None:
    await walk(ui, "zh", tmp_path)
