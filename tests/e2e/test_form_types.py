"""Form types over HTTP: admin publishes a form and its route (201 version 1, a PUT makes version 2), an unsound one
is refused with a sentence and nothing stored, only admin designs, everyone reads; the designer's pages render,
save a new version, keep the form on a refusal and preview the route of a sample request."""

from __future__ import annotations

from typing import Any

import pytest

from domain.audit import services as audit
from domain.forms import services as forms
from tests.e2e.conftest import Stack
from tests.e2e.test_sales_pages import Browser, text

pytestmark = pytest.mark.e2e

IT_PURCHASE: dict[str, Any] = {
    "key": "it_purchase", "name": "IT equipment purchase",
    "fields": [{"name": "item", "label": "Item", "type": "text", "required": True},
               {"name": "amount", "label": "Amount", "type": "money", "required": True, "min": "0"},
               {"name": "quote", "label": "Quote", "type": "attachment"}],
    "route": [{"name": "Manager", "approver": "manager"},
              {"name": "IT and finance", "approver": ["role:it", "role:finance"], "mode": "all"},
              {"name": "CFO", "approver": "role:cfo", "when": {"field": "amount", "op": ">", "value": "5000"}}],
}


def _stored(stack: Stack, key: str) -> int:
    with stack.db.read() as s:
        return len([r for r in forms.list_types(s, include_inactive=True) if r.key == key])


async def test_admin_publishes_versions_and_everyone_reads_them(stack: Stack) -> None:
    r = await stack.as_("admin", "POST", "/api/form-types", json=IT_PURCHASE)
    assert r.status_code == 201 and r.json() == {"key": "it_purchase", "version": 1}, r.text
    again = await stack.as_("admin", "POST", "/api/form-types", json=IT_PURCHASE)
    assert again.status_code == 409 and "exists already" in again.json()["detail"]
    v2 = {**IT_PURCHASE, "name": "IT purchase", "sla_hours": 24}
    r = await stack.as_("admin", "PUT", "/api/form-types/it_purchase", json={k: v for k, v in v2.items() if k != "key"})
    assert r.status_code == 200 and r.json() == {"key": "it_purchase", "version": 2}, r.text
    assert (await stack.as_("admin", "PUT", "/api/form-types/nope", json=v2)).status_code == 422  # key differs
    missing = await stack.as_("admin", "PUT", "/api/form-types/nope", json={**v2, "key": "nope"})
    assert missing.status_code == 404

    listed = (await stack.as_("erin", "GET", "/api/form-types")).json()
    assert {t["key"] for t in listed} >= {"leave", "business_trip", "contract", "it_purchase"}
    mine = next(t for t in listed if t["key"] == "it_purchase")
    assert mine["version"] == 2 and mine["name"] == "IT purchase" and mine["sla_hours"] == 24
    got = (await stack.as_("erin", "GET", "/api/form-types/it_purchase", params={"version": 1})).json()
    assert got["version"] == 1 and got["name"] == "IT equipment purchase" and got["route"][1]["mode"] == "all"
    assert (await stack.as_("erin", "GET", "/api/form-types/it_purchase")).json()["version"] == 2
    assert (await stack.as_("erin", "GET", "/api/form-types/it_purchase", params={"version": 9})).status_code == 404
    with stack.db.read() as s:
        trail = audit.trail(s, "form_type", "it_purchase")
    assert [t["after"]["version"] for t in trail] == [2, 1] and trail[0]["actor"] == "admin"


@pytest.mark.parametrize(("route", "says"), [
    ([{"name": "Big", "approver": "role:cfo", "when": {"field": "total", "op": ">", "value": "5000"}}],
     "'total', which is not a field of this form"),
    ([{"name": "Ops", "approver": "role:operations"}], "the role 'operations', which does not exist"),
    ([{"name": "Zed", "approver": "user:zed"}], "the user 'zed', who does not exist"),
])
async def test_an_unsound_route_is_refused_and_nothing_stored(stack: Stack, route: list[Any], says: str) -> None:
    r = await stack.as_("admin", "POST", "/api/form-types", json={**IT_PURCHASE, "route": route})
    assert r.status_code == 422 and says in r.json()["detail"], r.text
    assert _stored(stack, "it_purchase") == 0


async def test_only_admin_designs_form_types(stack: Stack) -> None:
    r = await stack.as_("erin", "POST", "/api/form-types", json=IT_PURCHASE)
    assert r.status_code == 403 and "form_type.manage" in r.json()["detail"]
    assert (await stack.as_("frank", "PUT", "/api/form-types/leave", json=IT_PURCHASE)).status_code == 403
    assert (await stack.as_("erin", "POST", "/api/form-types", json={**IT_PURCHASE, "owner": "x"})).status_code in (
        403, 422)
    assert _stored(stack, "it_purchase") == 0


# --- the designer -------------------------------------------------------------------------------------------

def _designer_form(**over: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "key": "it_purchase", "name": "IT equipment purchase", "description": "", "sla_hours": "48",
        "field_name": ["item", "amount", ""], "field_label": ["Item", "Amount", ""],
        "field_type": ["text", "money", "text"], "field_required": ["0", "1", "0"],
        "field_min": ["", "0", ""], "field_max": ["", "", ""], "field_choices": ["", "", ""],
        "step_name": ["Manager", "IT and finance", "CFO", ""],
        "step_approver": ["manager", "role:it, role:finance", "role:cfo", ""],
        "step_mode": ["any", "all", "any", "any"],
        "step_field": ["", "", "amount", ""], "step_op": [">", ">", ">", ">"], "step_value": ["", "", "5000", ""],
        "step_sla": ["", "", "", ""],
    }
    form.update(over)
    return form


async def test_the_designer_lists_saves_and_previews(stack: Stack) -> None:
    admin = await Browser(stack, "admin").start()
    page = await admin.get("/form-types")
    assert page.status_code == 200 and "Leave request" in text(page) and 'href="/form-types/leave"' in page.text
    page = await admin.get("/form-types/leave")
    assert page.status_code == 200 and 'value="manager_of_manager"' in page.text and 'value="days"' in page.text
    assert 'href="/form-types"' in (await admin.get("/admin")).text
    assert (await admin.get("/form-types/nope")).status_code == 404
    assert (await (await Browser(stack, "erin").start()).get("/form-types/new")).status_code == 403

    assert (await admin.get("/form-types/new")).status_code == 200
    form = _designer_form()
    # a preview: the form as a requester sees it, and the route a sample request takes (nothing saved)
    r = await admin.post("/form-types/new", {**form, "action": "preview", "sample_requester": "erin",
                                             "sample_item": "laptop", "sample_amount": "6,000"})
    assert r.status_code == 200, text(r)
    shown = text(r)
    assert 'id="sample_amount"' in r.text and "all of: anyone holding it (tom)" in shown, shown
    assert "finance (grace)" in shown and "anyone holding cfo (heidi)" in shown
    assert _stored(stack, "it_purchase") == 0
    r = await admin.post("/form-types/new", {**form, "action": "preview", "sample_requester": "erin",
                                             "sample_item": "mouse", "sample_amount": "20"})
    assert "amount > 5000" in text(r)  # the CFO step is left out, and the page says why
    # an unsound route: the sentence, the form kept, nothing stored
    bad = {**form, "step_approver": ["manager", "role:it, role:finance", "role:operations", ""]}
    r = await admin.post("/form-types/new", {**bad, "action": "save"})
    assert r.status_code == 422 and "operations" in text(r) and 'value="IT and finance"' in r.text
    assert _stored(stack, "it_purchase") == 0
    r = await admin.post("/form-types/new", {**form, "action": "save"})
    assert r.status_code == 303 and r.headers["location"] == "/form-types/it_purchase", text(r)
    got = (await stack.as_("erin", "GET", "/api/form-types/it_purchase")).json()
    assert got["version"] == 1 and [f["name"] for f in got["fields"]] == ["item", "amount"]
    assert got["fields"][1]["required"] is True and got["route"][1]["approver"] == ["role:it", "role:finance"]
    assert got["route"][2]["when"] == {"field": "amount", "op": ">", "value": "5000"}
    # a change publishes version 2
    page = await admin.get("/form-types/it_purchase")
    assert "version 1 is published" in text(page)
    r = await admin.post("/form-types/it_purchase", {**_designer_form(name="IT purchase"), "action": "save"})
    assert r.status_code == 303
    assert (await stack.as_("erin", "GET", "/api/form-types/it_purchase")).json()["version"] == 2
