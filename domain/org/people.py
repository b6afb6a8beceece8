"""The people of the company as the rules see them: who they are, which roles they hold, who their
manager is (to route approvals), and who is acting right now."""

from __future__ import annotations

from pydantic import BaseModel


class Person(BaseModel):
    username: str
    roles: frozenset[str] = frozenset()
    manager: str | None = None
    active: bool = True


class Actor(BaseModel):
    """Who acts on a task, as the API authenticated them."""

    username: str
    roles: list[str] = []
