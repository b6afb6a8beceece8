"""Saved filters: a list filter (the inbox's, the process monitor's) a user named and kept, as the list
page's own query string. The caller supplies the page's check of that query (the page's filter rules live
with the page), so a filter is stored only if the list would accept it.

Saving a name the user already has on that page replaces its query (saving again is how a filter is
updated); a user keeps at most MAX_PER_PAGE per page. Another user's filter is as good as missing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.approvals.tables import SavedFilter
from domain.core.errors import Conflict, Invalid, NotFound

PAGES = ("inbox", "processes")
MAX_PER_PAGE = 50
NAME_MAX = 80
QUERY_MAX = 1000
# Where the list is, not what it shows: never part of a saved filter.
NOT_FILTERS = frozenset({"offset", "page", "msg", "error", "csrf"})

Check = Callable[[Mapping[str, str]], list[str]]
"""The page's check of a filter's parameters: what is wrong with them, as sentences (empty when usable)."""


def normalise(query: str) -> dict[str, str]:
    """The filter's parameters: empty values and paging dropped, a name given twice refused."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=False):
        value = value.strip()
        if not value or key in NOT_FILTERS:
            continue
        if key in params:
            raise Invalid(f"the filter gives \u201c{key[:40]}\u201d twice")
        params[key] = value
    return params


def encode(params: Mapping[str, str]) -> str:
    return urlencode(sorted(params.items()))


def view(f: SavedFilter) -> dict[str, Any]:
    return {"id": f.id, "page": f.page, "name": f.name, "query": f.query, "created_at": f.created_at}


def _page(page: str) -> str:
    if page not in PAGES:
        raise Invalid(f"there is no list \u201c{page[:40]}\u201d to keep a filter for (inbox or processes)")
    return page


def list_for(s: Session, username: str, page: str | None = None) -> list[dict[str, Any]]:
    """The user's saved filters (of one page, or all), by page and name."""
    q = select(SavedFilter).where(SavedFilter.username == username)
    if page is not None:
        q = q.where(SavedFilter.page == _page(page))
    return [view(f) for f in s.execute(q.order_by(SavedFilter.page, SavedFilter.name, SavedFilter.id)).scalars()]


def save(s: Session, username: str, page: str, name: str, query: str, check: Check) -> dict[str, Any]:
    """Keep `query` under `name` for the user's `page` list (replacing the query of a filter of that name)."""
    _page(page)
    name = name.strip()
    if not name:
        raise Invalid("give the filter a name")
    if len(name) > NAME_MAX:
        raise Invalid(f"a filter's name is at most {NAME_MAX} characters (this one has {len(name)})")
    params = normalise(query)
    if not params:
        raise Invalid("there is no filter to keep: the list is unfiltered")
    problems = check(params)
    if problems:
        raise Invalid("this filter cannot be used: " + "; ".join(problems))
    encoded = encode(params)
    if len(encoded) > QUERY_MAX:
        raise Invalid(f"the filter is too long to keep (at most {QUERY_MAX} characters)")
    mine = (SavedFilter.username == username, SavedFilter.page == page)
    same = s.execute(select(SavedFilter).where(*mine, SavedFilter.name == name)).scalar_one_or_none()
    if same is not None:
        same.query = encoded
        s.flush()
        return view(same)
    held = int(s.execute(select(func.count()).select_from(SavedFilter).where(*mine)).scalar_one())
    if held >= MAX_PER_PAGE:
        raise Invalid(f"you already keep {MAX_PER_PAGE} filters for this list: delete one first")
    row = SavedFilter(username=username, page=page, name=name, query=encoded)
    try:
        with s.begin_nested():
            s.add(row)
    except IntegrityError:  # the same name saved twice at once: the other request's filter stands
        raise Conflict(f"a filter named \u201c{name}\u201d was saved at the same moment; try again") from None
    return view(row)


def delete(s: Session, username: str, filter_id: int) -> str:
    """Forget one of the user's filters (its name is returned); another user's is not found (it is not theirs to
    know about)."""
    row = s.get(SavedFilter, filter_id)
    if row is None or row.username != username:
        raise NotFound(f"no saved filter {filter_id}")
    s.delete(row)
    s.flush()
    return row.name
