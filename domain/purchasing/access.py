"""Who may see which purchase requisitions: the requester, whoever has (or had) a task on one, and the roles
that oversee purchasing."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, or_

from domain.approvals.access import involved_process_ids, sees_all
from domain.purchasing.tables import PurchaseRequisition


def purchases_visible_to(username: str, roles: Collection[str]) -> ColumnElement[bool] | None:
    """The purchase requisitions a user may see (as GET /api/purchase-requisitions/{id} decides), as a WHERE
    clause over PurchaseRequisition; None when they may see them all."""
    if sees_all(set(roles), "purchase"):
        return None
    return or_(PurchaseRequisition.requester == username,
               PurchaseRequisition.process_id.in_(involved_process_ids(username, set(roles))))
