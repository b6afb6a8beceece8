"""Who may see which sales orders: one rule for the list, the detail, and every page or document that embeds
them. A salesperson sees their own orders; the roles that oversee orders see every one."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement

from domain import permissions
from domain.permissions import Action
from domain.sales.tables import SalesOrder


def orders_visible_to(username: str, roles: Collection[str]) -> ColumnElement[bool] | None:
    """The sales orders a user may see, as a WHERE clause over SalesOrder; None when they may see them all.
    A salesperson sees their own orders; the roles that oversee orders see every one."""
    if permissions.may(roles, Action.SALES_ORDER_SEE_ALL):
        return None
    return SalesOrder.owner == username


def may_see_order(username: str, roles: Collection[str], owner: str) -> bool:
    """The same rule as orders_visible_to, for one order."""
    return owner == username or permissions.may(roles, Action.SALES_ORDER_SEE_ALL)
