"""The yes-or-no twins of the processes' checks that pages ask before they offer a button (issue 16): each says
yes exactly where the process takes the command from that person in that state."""

from __future__ import annotations

import pytest

from domain.org.people import Actor
from domain.production import rules as production


def who(username: str, *roles: str) -> Actor:
    return Actor(username=username, roles=list(roles))


@pytest.mark.parametrize(("actor", "status", "waiting", "yes"), [
    (who("carol", "planner"), "released", False, True),
    (who("carol", "planner"), "waiting_material", False, True),
    (who("carol", "planner"), "released", True, False),  # one change at a time
    (who("carol", "planner"), "completed", False, False),
    (who("ivan", "warehouse"), "released", False, False),  # reports progress, never changes
    (who("admin", "admin"), "released", False, True),
])
def test_may_request_change(actor: Actor, status: str, waiting: bool, yes: bool) -> None:
    assert production.may_request_change(actor, status, change_open=waiting) is yes
