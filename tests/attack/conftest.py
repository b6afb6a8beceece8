"""The attack suite runs against the end-to-end stack: the Temporal dev server, the real worker, the demo
company, and the API served by uvicorn (one fresh app, database and task queue per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.core.db import Database
from settings import Settings
from tests.e2e.conftest import Stack, serve_stack


@dataclass
class AttackStack(Stack):
    """The e2e stack, plus its app and settings (the signing key, for forging tokens) and its address."""

    app: FastAPI | None = None
    settings: Settings | None = None
    base_url: str = ""


@pytest_asyncio.fixture
async def stack(dev_env: WorkflowEnvironment, db: Database) -> AsyncIterator[AttackStack]:
    async with serve_stack(dev_env, db, "attack") as s:
        yield AttackStack(http=s.http, db=db, platform=s.platform, app=s.app, settings=s.settings, base_url=s.base_url)

# The demo users and their roles (domain/demo.py), for choosing who lacks a role.
DEMO_ROLES: dict[str, set[str]] = {
    "alice": {"sales"}, "bob": {"sales_manager"}, "carol": {"planner"}, "dave": {"buyer"}, "erin": {"employee"},
    "frank": {"manager"}, "grace": {"finance"}, "heidi": {"cfo"}, "ivan": {"warehouse"}, "admin": {"admin"},
}


def route_table() -> list[Any]:
    """Every route of the app as FastAPI resolves it (included routers flattened)."""
    app = create_app(Settings(secret_key="route-table-" + "x" * 20))
    out: list[Any] = []
    for r in app.routes:
        if hasattr(r, "effective_route_contexts"):
            out.extend(r.effective_route_contexts())
        else:
            out.append(r)
    return out


def _calls(dependant: Any) -> list[Any]:
    out = []
    for sub in getattr(dependant, "dependencies", []):
        out.append(sub.call)
        out.extend(_calls(sub))
    return out


def needs_login(route: Any) -> bool:
    """The route resolves the caller through api.deps.current_user (directly or via require)."""
    from api.deps import current_user

    return any(c is current_user for c in _calls(getattr(route, "dependant", None)))


def required_action(route: Any) -> str | None:
    """The action a `require(action)` dependency of the route asks for; None when it has none."""
    from api import deps

    for c in _calls(getattr(route, "dependant", None)):
        if getattr(c, "__qualname__", "").startswith(deps.require.__qualname__):
            action = getattr(c, "action", None)
            assert action is not None, f"{c} is a require(...) dependency without its action"
            return str(action)
    return None


def required_roles(route: Any) -> set[str] | None:
    """The roles that hold the action of the route's `require(action)` (domain.permissions); None when it has
    none. An action nobody holds is an error here, not a route silently closed to all."""
    from domain import permissions

    action = required_action(route)
    if action is None:
        return None
    roles = set(permissions.roles_for(action))
    assert roles, f"the route's action {action} is held by no role"
    return roles


def is_page(route: Any) -> bool:
    from api.routes.ui.pages import PageRoute

    return isinstance(getattr(route, "original_route", route), PageRoute)


__all__ = ["DEMO_ROLES", "AttackStack", "is_page", "needs_login", "required_action", "required_roles", "route_table",
           "stack"]
