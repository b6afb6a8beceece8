"""The OA approval actions over HTTP on a built-in document (an expense claim): send back and resubmit, add
approver, copy to, urge; every refusal a 4xx with a sentence and nothing recorded on the task's trail."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.conftest import Stack
from tests.e2e.test_inbox_pages import file_claim


async def trail(stack: Stack, user: str, task_id: str) -> list[tuple[str, str]]:
    r = await stack.as_(user, "GET", f"/api/tasks/{task_id}")
    assert r.status_code == 200, r.text
    return [(e["event"], e["detail"]) for e in r.json()["events"]]


async def task_of(stack: Stack, user: str, key: str, kind: str, old: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    for _ in range(200):
        r = await stack.as_(user, "GET", "/api/tasks", params={"business_key": key})
        found = [t for t in r.json() if t["kind"] == kind and t["id"] not in old]
        if found:
            return found[0]  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{user} never got a {kind} task for {key}")


async def test_send_back_resubmit_add_approver_copy_and_urge_over_http(stack: Stack) -> None:
    claim = await file_claim(stack, "300")
    task = await stack.open_task("frank", claim)
    tid = str(task["id"])
    process_id = str(task["process_id"])
    before = await trail(stack, "frank", tid)

    refusals = [
        ("frank", f"/api/tasks/{tid}/send-back", {"comment": "  "}, 422, "comment"),
        ("bob", f"/api/tasks/{tid}/send-back", {"comment": "no"}, 403, "for frank"),
        ("frank", "/api/tasks/no-such-task/send-back", {"comment": "no"}, 404, "no task"),
        ("frank", f"/api/tasks/{tid}/add-approver", {"username": "tom", "position": "sideways"}, 422, ""),
        ("frank", f"/api/tasks/{tid}/add-approver", {"username": "erin", "position": "before"}, 403, "erin"),
        ("frank", f"/api/tasks/{tid}/add-approver", {"username": "nobody", "position": "after"}, 404, "nobody"),
        ("frank", f"/api/tasks/{tid}/copy-to", {"usernames": []}, 422, ""),
        ("frank", f"/api/tasks/{tid}/copy-to", {"usernames": ["nobody"]}, 404, "nobody"),
        ("frank", f"/api/tasks/{tid}/copy-to", {"usernames": ["erin"]}, 422, "erin"),
        ("frank", f"/api/tasks/{tid}/resubmit", {"comment": ""}, 404, "resubmit"),
        ("frank", f"/api/processes/{process_id}/urge", None, 403, "requester"),
    ]
    for user, url, body, status, says in refusals:
        r = await stack.as_(user, "POST", url, json=body)
        assert r.status_code == status, (url, r.text)
        assert says in r.text, r.text
    assert await trail(stack, "frank", tid) == before  # nothing recorded

    # ivan cannot read the claim until frank copies him in
    assert (await stack.as_("ivan", "GET", f"/api/expense-claims/{claim}")).status_code == 404
    r = await stack.as_("frank", "POST", f"/api/tasks/{tid}/copy-to", json={"usernames": ["ivan"]})
    assert r.status_code == 200 and r.json() == {"copied": ["ivan"]}, r.text
    assert (await stack.as_("ivan", "GET", f"/api/expense-claims/{claim}")).status_code == 200
    r = await stack.as_("ivan", "POST", f"/api/tasks/{tid}/complete", json={"decision": "approve"})
    assert r.status_code in (403, 404), r.text

    # erin urges once; a second urge within the hour is a 409 naming when the next is allowed
    r = await stack.as_("erin", "POST", f"/api/processes/{process_id}/urge")
    assert r.status_code == 200 and r.json() == {"urged": [tid]}, r.text
    r = await stack.as_("erin", "POST", f"/api/processes/{process_id}/urge")
    assert r.status_code == 409 and "next urge is allowed from" in r.text, r.text
    assert ("urged", "urged by erin") in await trail(stack, "frank", tid)

    # frank sends it back; erin gets a resubmit task, frank's task is closed
    r = await stack.as_("frank", "POST", f"/api/tasks/{tid}/send-back", json={"comment": "attach the receipt"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    rs = await task_of(stack, "erin", claim, "resubmit")
    r = await stack.as_("frank", "POST", f"/api/tasks/{tid}/complete", json={"decision": "approve"})
    assert r.status_code == 409, r.text
    r = await stack.as_("erin", "POST", f"/api/processes/{process_id}/urge")
    assert r.status_code == 409, r.text
    r = await stack.as_("frank", "POST", f"/api/tasks/{rs['id']}/resubmit", json={"comment": "mine"})
    assert r.status_code == 403, r.text
    r = await stack.as_("erin", "POST", f"/api/tasks/{rs['id']}/resubmit", json={"comment": "receipt attached"})
    assert r.status_code == 200, r.text

    # the route restarts at frank's step: he adds tom after himself, approves, then tom approves
    again = await task_of(stack, "frank", claim, "approval", old={tid})
    r = await stack.as_("frank", "POST", f"/api/tasks/{again['id']}/add-approver",
                        json={"username": "tom", "position": "after", "comment": "IT gear"})
    assert r.status_code == 200, r.text
    r = await stack.as_("frank", "POST", f"/api/tasks/{again['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    toms = await task_of(stack, "tom", claim, "approval")
    r = await stack.as_("tom", "POST", f"/api/tasks/{toms['id']}/complete", json={"decision": "approve"})
    assert r.status_code == 200, r.text
    r = await stack.as_("erin", "GET", f"/api/expense-claims/{claim}", params={"wait": 10, "until": "approved"})
    assert r.json()["status"] == "approved", r.text


async def test_the_pages_offer_send_back_resubmit_add_approver_copy_to_and_urge(stack: Stack) -> None:
    from tests.e2e.test_sales_pages import Browser, flash
    from tests.e2e.test_sales_pages import text as page_text

    claim = await file_claim(stack, "200")
    task = await stack.open_task("frank", claim)
    tid = str(task["id"])
    frank, erin = await Browser(stack, "frank").start(), await Browser(stack, "erin").start()
    page = page_text(await frank.get(f"/tasks/{tid}"))
    for offered in ("Send back", "Add approver", "Copy to", "Before me (the task comes back to me)"):
        assert offered in page

    # erin urges from her claim page, twice: the second is refused with when the next is allowed
    r = await erin.get(f"/requests/expense-claims/{claim}")
    assert r.status_code == 200 and "Urge" in page_text(r)
    back = f"/requests/expense-claims/{claim}"
    r = await erin.post(f"/processes/{task['process_id']}/urge", {"back": back})
    assert r.status_code == 303 and flash(r) == {"msg": "Urged: the approvers were reminded."}, r.text
    r = await erin.post(f"/processes/{task['process_id']}/urge", {"back": back})
    assert r.status_code == 303 and "next urge is allowed from" in flash(r)["error"]

    # a send back without a comment is refused on the page; with one, erin's resubmit task offers Resubmit
    r = await frank.post(f"/inbox/{tid}/send-back", {"comment": " "})
    assert r.status_code == 422 and "a send back needs a comment" in page_text(r)
    r = await frank.post(f"/inbox/{tid}/copy-to", {"usernames": "ivan, carol"})
    assert r.status_code == 303 and flash(r) == {"msg": "Copied to ivan, carol."}, r.text
    r = await frank.post(f"/inbox/{tid}/send-back", {"comment": "which trip?"})
    assert r.status_code == 303 and flash(r)["msg"].startswith("Sent back to erin"), r.text
    rs = await task_of(stack, "erin", claim, "resubmit")
    assert "sent back" in page_text(await erin.get(f"/requests/expense-claims/{claim}"))
    assert f"/tasks/{rs['id']}" in (await erin.get("/inbox")).text  # in her inbox, with a Resubmit link
    page = page_text(await erin.get(f"/tasks/{rs['id']}"))
    assert "Sent back to you" in page and "which trip?" in page
    r = await erin.post(f"/inbox/{rs['id']}/resubmit", {"comment": "the Berlin trip"})
    assert r.status_code == 303 and flash(r)["msg"].startswith("Resubmitted"), r.text

    # the route restarts at frank; he adds tom before himself from the page
    again = await task_of(stack, "frank", claim, "approval", old={tid})
    r = await frank.post(f"/inbox/{again['id']}/add-approver", {"username": "erin", "position": "before"})
    assert r.status_code == 403 and "erin made this request" in page_text(r)
    r = await frank.post(f"/inbox/{again['id']}/add-approver", {"username": "tom", "position": "before",
                                                                 "comment": "check the gear"})
    assert r.status_code == 303, r.text
    toms = await task_of(stack, "tom", claim, "approval")
    assert toms["candidate_user"] == "tom"
