"""The form request pages in Chromium: New request, a form drawn from its fields, and a request's page (its route,
attachments, comments) have no serious or critical axe violation; every field of the form has its label."""

from __future__ import annotations

from typing import Any

from tests.browser import test_ui
from tests.browser.test_accessibility import BLOCKING, api, axe_module, check, log_in, save
from tests.browser.test_ui import UI

browser, site, ui = test_ui.browser, test_ui.site, test_ui.ui  # the UI tests' fixtures: the whole stack, Chromium
pytestmark = test_ui.pytestmark
assert axe_module is not None


async def test_the_form_request_pages_have_no_serious_or_critical_axe_violation(ui: UI) -> None:
    filed = await api(ui, "erin", "POST", "/api/requests", json={"form": "business_trip", "values": {
        "destination": "Shanghai", "from": "2030-01-07", "to": "2030-01-09", "purpose": "supplier visit"}})
    assert filed.status_code == 201, filed.text
    number = filed.json()["request_id"]
    erin = await log_in(ui, "erin")
    runs: list[dict[str, Any]] = []
    for url in ("/requests/new", "/requests/new/leave", "/requests/new/contract", f"/requests/{number}", "/requests"):
        await erin.goto(url)
        await check(erin, runs)
    await erin.goto("/requests/new/leave")
    for name in ("leave_type", "from", "to", "days", "deputy", "reason"):
        assert await erin.locator(f"label[for='f-{name}']").count() == 1
    assert save("form request pages", runs) == []
    assert all(v["impact"] not in BLOCKING for r in runs for v in r["violations"])
    ui.assert_no_console_errors()
