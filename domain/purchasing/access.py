"""Who may see which purchase requisitions: the requester, whoever has (or had) a task on one, and the roles
that oversee purchasing."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement

from domain.approvals.access import documents_visible_to
from domain.purchasing.tables import PurchaseRequisition


def purchases_visible_to(username: str, roles: Collection[str]) -> ColumnElement[bool] | None:
    """The purchase requisitions a user may see (as GET /api/purchase-requisitions/{id} decides), as a WHERE
    clause over PurchaseRequisition; None when they may see them all."""
    return documents_visible_to(username, roles, "purchase", PurchaseRequisition.requester,
                                PurchaseRequisition.process_id)
