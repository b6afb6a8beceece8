"""Saved filters over HTTP: a user keeps a filter of the inbox or of the process monitor under a name (through
the API or the page's form), sees only his own, follows one to the filtered list, and deletes it. A filter the
list would not accept, a bad name, a 51st filter, another user's filter and a form without its CSRF token are
refused and change nothing; names are escaped on both pages."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.approvals.tables import SavedFilter
from tests.e2e.conftest import Stack
from tests.e2e.test_inbox_pages import file_claim
from tests.e2e.test_sales_pages import Browser, flash, text

pytestmark = pytest.mark.e2e

XSS_NAMES = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


def stored(stack: Stack, username: str | None = None) -> list[tuple[str, str, str, str]]:
    """(username, page, name, query) of every saved filter (of one user), in a stable order."""
    q = select(SavedFilter.username, SavedFilter.page, SavedFilter.name, SavedFilter.query)
    if username:
        q = q.where(SavedFilter.username == username)
    with stack.db.read() as s:
        return sorted(tuple(r) for r in s.execute(q))  # type: ignore[misc]


def total(stack: Stack) -> int:
    with stack.db.read() as s:
        return int(s.execute(select(func.count()).select_from(SavedFilter)).scalar_one())


async def save(stack: Stack, who: str, page: str, name: str, query: str) -> Any:
    return await stack.as_(who, "POST", "/api/saved-filters", json={"page": page, "name": name, "query": query})


def saved_links(r: Any) -> dict[str, str]:
    """The saved filters the page lists: name → href."""
    section = re.search(r'<section class="card saved-filters".*?</section>', r.text, re.S)
    assert section, "no saved-filters section on the page"
    return {html.unescape(name): html.unescape(href) for href, name in
            re.findall(r'<li data-saved-filter="\d+">\s*<a href="([^"]*)"[^>]*>(.*?)</a>', section.group(0), re.S)}


async def test_the_api_keeps_normalises_replaces_lists_and_deletes_only_the_callers_filters(stack: Stack) -> None:
    r = await save(stack, "erin", "inbox", "  Big ones ",
                   "?offset=50&page=3&customer=&min_amount=1000&kind=approval&msg=hello")
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["name"] == "Big ones"
    assert first["query"] == "kind=approval&min_amount=1000"  # sorted, no empty values, no paging, no notice
    assert first["url"] == "/inbox?kind=approval&min_amount=1000"

    # saving the same name again replaces its query: one filter, same id
    r = await save(stack, "erin", "inbox", "Big ones", "min_amount=5000&sort=priority&dir=desc")
    assert r.status_code == 201, r.text
    assert r.json()["id"] == first["id"] and r.json()["query"] == "dir=desc&min_amount=5000&sort=priority"
    assert stored(stack, "erin") == [("erin", "inbox", "Big ones", "dir=desc&min_amount=5000&sort=priority")]

    # the same name on the other page, and the same name by another user, are other filters
    r = await save(stack, "erin", "processes", "Big ones", "status=running&started_from=2026-01-01&type=expense_claim")
    assert r.status_code == 201, r.text
    assert r.json()["query"] == "started_from=2026-01-01&status=running&type=expense_claim"
    r = await save(stack, "frank", "inbox", "Big ones", "overdue=1")
    assert r.status_code == 201, r.text
    franks_id = r.json()["id"]

    r = await stack.as_("erin", "GET", "/api/saved-filters", params={"page": "inbox"})
    assert r.status_code == 200
    assert [(f["page"], f["name"], f["query"]) for f in r.json()] == [
        ("inbox", "Big ones", "dir=desc&min_amount=5000&sort=priority")]
    r = await stack.as_("erin", "GET", "/api/saved-filters")
    assert [f["page"] for f in r.json()] == ["inbox", "processes"]
    r = await stack.as_("frank", "GET", "/api/saved-filters", params={"page": "inbox"})
    assert [(f["name"], f["query"]) for f in r.json()] == [("Big ones", "overdue=1")]
    r = await stack.as_("erin", "GET", "/api/saved-filters", params={"page": "ledger"})
    assert r.status_code == 422
    assert (await stack.http.get("/api/saved-filters")).status_code == 401

    # another user's filter is not found (not "forbidden"), and stays
    before = stored(stack)
    r = await stack.as_("erin", "DELETE", f"/api/saved-filters/{franks_id}")
    assert r.status_code == 404, r.text
    assert (await stack.as_("erin", "DELETE", "/api/saved-filters/999999")).status_code == 404
    assert stored(stack) == before
    r = await stack.as_("erin", "DELETE", f"/api/saved-filters/{first['id']}")
    assert r.status_code == 204
    assert [f[1] for f in stored(stack, "erin")] == ["processes"]
    assert stored(stack, "frank") == [("frank", "inbox", "Big ones", "overdue=1")]


@pytest.mark.parametrize(("page", "name", "query", "says"), [
    ("inbox", "Bad amount", "min_amount=abc", "must be a number"),
    ("inbox", "Bad sort", "sort=sideways", "cannot be sorted"),
    ("inbox", "Bad view", "view=everyone", "no view"),
    ("inbox", "Upside down", "min_amount=50&max_amount=10", "lowest amount is above"),
    ("inbox", "Bad date", "due_before=tomorrow", "not a date"),
    ("inbox", "Unknown", "kind=approval&colour=red", "no filter"),
    ("inbox", "Twice", "kind=approval&kind=alert", "twice"),
    ("inbox", "Empty", "offset=50&customer=", "no filter to keep"),
    ("inbox", "", "kind=approval", "name"),
    ("inbox", "   ", "kind=approval", "name"),
    ("inbox", "x" * 81, "kind=approval", "name"),
    ("processes", "Bad status", "status=sleeping", "no status"),
    ("processes", "Bad day", "started_from=2026-13-01", "not a date"),
    ("processes", "Reversed", "started_from=2026-05-01&started_to=2026-04-01", "after the last"),
    ("processes", "Inbox's", "min_amount=10", "no filter"),
    ("processes", "Too long", "customer=" + "c" * 201, "at most 200"),
    ("ledger", "No such list", "kind=approval", "page"),
])
async def test_an_invalid_filter_or_name_is_refused_with_422_and_nothing_is_kept(
        stack: Stack, page: str, name: str, query: str, says: str) -> None:
    r = await save(stack, "erin", page, name, query)
    assert r.status_code == 422, r.text
    assert says in r.json()["detail"], r.json()
    assert total(stack) == 0


async def test_fifty_filters_per_list_and_the_fifty_first_is_refused(stack: Stack) -> None:
    for i in range(50):
        r = await save(stack, "erin", "inbox", f"Filter {i:02d}", f"min_amount={i}")
        assert r.status_code == 201, r.text
    r = await save(stack, "erin", "inbox", "One more", "min_amount=99")
    assert r.status_code == 422 and "50 filters" in r.json()["detail"]
    assert len(stored(stack, "erin")) == 50 and "One more" not in {f[2] for f in stored(stack, "erin")}
    # replacing one of the fifty is still fine, and so are the other list and another user
    assert (await save(stack, "erin", "inbox", "Filter 07", "min_amount=700")).status_code == 201
    assert (await save(stack, "erin", "processes", "One more", "status=running")).status_code == 201
    assert (await save(stack, "frank", "inbox", "One more", "min_amount=99")).status_code == 201
    assert len(stored(stack, "erin")) == 51
    erin = await Browser(stack, "erin").start()
    r = await erin.post("/inbox/saved-filters", {"name": "Via the page", "query": "min_amount=1"})
    assert r.status_code == 422 and "50 filters" in text(r)
    assert len(stored(stack, "erin")) == 51


async def test_the_inbox_page_saves_lists_follows_and_deletes_a_filter(stack: Stack) -> None:
    small, big = await file_claim(stack, "300"), await file_claim(stack, "20000")
    for key in (small, big):
        await stack.open_task("frank", key)
    frank = await Browser(stack, "frank").start()

    r = await frank.get("/inbox?min_amount=1000&page=1")
    assert r.status_code == 200
    assert big in text(r) and small not in text(r)
    form = re.search(r'<form method="post" action="/inbox/saved-filters" class="save-filter">(.*?)</form>', r.text,
                     re.S)
    assert form and 'name="query" value="min_amount=1000"' in form.group(1)  # the current filter, without paging
    assert saved_links(r) == {}

    r = await frank.post("/inbox/saved-filters", {"name": "Large claims", "query": "min_amount=1000"})
    assert r.status_code == 303, text(r)
    assert r.headers["location"] == "/inbox?min_amount=1000" and flash(r)["msg"].startswith("Saved")
    r = await frank.get(r.headers["location"])
    assert "Saved the filter \u201cLarge claims\u201d" in text(r)
    links = saved_links(r)
    assert links == {"Large claims": "/inbox?min_amount=1000"}

    # another user does not see it; following the link gives the filtered list
    erin = await Browser(stack, "erin").start()
    assert saved_links(await erin.get("/inbox")) == {}
    r = await frank.get(links["Large claims"])
    assert r.status_code == 200 and big in text(r) and small not in text(r)
    # the rows the page's script polls are unchanged: the saved filters are not part of them
    rows = await stack.http.get("/inbox/rows?min_amount=1000", headers={"Cookie": frank.cookie})
    assert rows.status_code == 200 and "saved-filters" not in rows.text and big in rows.text

    # without its CSRF token a form is refused and nothing changes
    r = await frank.post("/inbox/saved-filters", {"name": "Forged", "query": "kind=alert"}, csrf=False)
    assert r.status_code == 403
    [row] = _rows(stack, "frank")
    fid = row.id
    r = await frank.post(f"/inbox/saved-filters/{fid}/delete", {"back": ""}, csrf=False)
    assert r.status_code == 403
    assert stored(stack, "frank") == [("frank", "inbox", "Large claims", "min_amount=1000")]

    # an invalid filter or name from the page: the list again with the reason, 422, nothing kept
    r = await frank.post("/inbox/saved-filters", {"name": "Broken", "query": "min_amount=abc"})
    assert r.status_code == 422 and "not saved" in text(r) and "must be a number" in text(r)
    r = await frank.post("/inbox/saved-filters", {"name": "  ", "query": "min_amount=5"})
    assert r.status_code == 422 and "give the filter a name" in text(r)
    assert len(stored(stack, "frank")) == 1

    # erin cannot delete frank's filter through her page either
    r = await erin.post(f"/inbox/saved-filters/{fid}/delete", {"back": ""})
    assert r.status_code == 404 and "no saved filter" in text(r)
    assert len(stored(stack, "frank")) == 1

    r = await frank.post(f"/inbox/saved-filters/{fid}/delete", {"back": "min_amount=1000&page=2"})
    assert r.status_code == 303
    assert r.headers["location"] == "/inbox?min_amount=1000" and flash(r)["msg"].startswith("Deleted")
    assert stored(stack, "frank") == []
    assert saved_links(await frank.get("/inbox")) == {}


def _rows(stack: Stack, username: str) -> list[SavedFilter]:
    with stack.db.read() as s:
        return list(s.execute(select(SavedFilter).where(SavedFilter.username == username)
                              .order_by(SavedFilter.id)).scalars())


async def test_the_process_monitor_saves_follows_and_deletes_a_filter(stack: Stack) -> None:
    small, big = await file_claim(stack, "120"), await file_claim(stack, "20000")
    erin = await Browser(stack, "erin").start()
    r = await erin.get(f"/processes?business_key={small}&offset=0")
    assert small in text(r) and big not in text(r)
    assert f'name="query" value="business_key={small}"' in r.text

    r = await erin.post("/processes/saved-filters", {"name": "The small one", "query": f"business_key={small}"})
    assert r.status_code == 303, text(r)
    assert r.headers["location"] == f"/processes?business_key={small}" and flash(r)["msg"].startswith("Saved")
    r = await erin.get(r.headers["location"])
    assert "Saved the filter \u201cThe small one\u201d" in text(r)
    links = saved_links(r)
    assert links == {"The small one": f"/processes?business_key={small}"}
    r = await erin.get(links["The small one"])
    assert r.status_code == 200 and small in text(r) and big not in text(r)
    # the inbox's saved filters are another list's
    assert saved_links(await erin.get("/inbox")) == {}

    r = await erin.post("/processes/saved-filters", {"name": "Sleepy", "query": "status=sleeping"})
    assert r.status_code == 422 and "no status" in text(r)
    r = await erin.post("/processes/saved-filters", {"name": "Forged", "query": "status=running"}, csrf=False)
    assert r.status_code == 403
    [row] = _rows(stack, "erin")

    frank = await Browser(stack, "frank").start()
    r = await frank.post(f"/processes/saved-filters/{row.id}/delete", {"back": ""})
    assert r.status_code == 404
    r = await erin.post(f"/processes/saved-filters/{row.id}/delete", {"back": "status=running"})
    assert r.status_code == 303 and r.headers["location"] == "/processes?status=running" and flash(r)["msg"].startswith("Deleted")
    assert stored(stack) == []


async def test_a_filters_name_is_escaped_on_both_pages(stack: Stack) -> None:
    for page, query in (("inbox", "kind=approval"), ("processes", "status=running")):
        for i, name in enumerate(XSS_NAMES):
            r = await save(stack, "erin", page, name, query + f"&{'min_amount' if page == 'inbox' else 'owner'}={i}")
            assert r.status_code == 201, r.text
    erin = await Browser(stack, "erin").start()
    for url in ("/inbox", "/processes"):
        r = await erin.get(url)
        assert r.status_code == 200
        for name in XSS_NAMES:
            assert name not in r.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in r.text
        assert set(saved_links(r)) == set(XSS_NAMES)
    # and in the notice after saving from the page
    r = await erin.post("/inbox/saved-filters", {"name": XSS_NAMES[1], "query": "kind=alert"})
    assert r.status_code == 303
    r = await erin.get(r.headers["location"])
    assert XSS_NAMES[1] not in r.text and "Saved the filter \u201c<img src=x onerror=alert(1)>\u201d" in text(r)
