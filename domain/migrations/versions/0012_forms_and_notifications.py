"""Office approvals without code: form types as data and their requests, leave balances, attachments, comments,
notifications and webhooks, and what the approval engine keeps for "all of" steps and the OA actions.

Each part of issue 19 adds its tables in its own function below (keep them apart; downgrade in reverse).

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import domain.core.types  # noqa: F401  # UTCDateTime, Money, Qty columns

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _approvals_upgrade()
    _forms_upgrade()
    _requests_upgrade()
    _attachments_upgrade()
    _comments_notifications_upgrade()


def downgrade() -> None:
    _comments_notifications_downgrade()
    _attachments_downgrade()
    _requests_downgrade()
    _forms_downgrade()
    _approvals_downgrade()


# --- approval engine (H2): all-of steps, send back, add approver, copy to, urge ------------------------------
def _approvals_upgrade() -> None:
    pass


def _approvals_downgrade() -> None:
    pass


# --- form types (H1): form_types, leave balances --------------------------------------------------------------
def _forms_upgrade() -> None:
    pass


def _forms_downgrade() -> None:
    pass


# --- form requests (H3): form_requests, trip advances ---------------------------------------------------------
def _requests_upgrade() -> None:
    pass


def _requests_downgrade() -> None:
    pass


# --- attachments (H4) -------------------------------------------------------------------------------------------
def _attachments_upgrade() -> None:
    pass


def _attachments_downgrade() -> None:
    pass


# --- comments, notifications, webhooks (H5) -------------------------------------------------------------------
def _comments_notifications_upgrade() -> None:
    pass


def _comments_notifications_downgrade() -> None:
    pass
