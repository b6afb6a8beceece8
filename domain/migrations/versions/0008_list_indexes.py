"""list indexes: the inbox's parts walked in order (role, named, claimed; by due, priority, creation) and the
monitor newest first (any, per type) and its counts by type and stage

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:25:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TASKS = {
    'ix_tasks_open_role_due': ['status', 'candidate_role', 'due_at'],
    'ix_tasks_open_user_due': ['status', 'candidate_user', 'due_at'],
    'ix_tasks_open_assignee_due': ['status', 'assignee', 'due_at'],
}
UNCLAIMED = "assignee IS NULL AND candidate_user IS NULL"
NEW_TASKS = {
    'ix_tasks_open_role': ['status', 'candidate_role', 'candidate_user', 'assignee'],
    'ix_tasks_open_user_due': ['candidate_user', 'status', 'assignee', 'due_at', 'requester'],
    'ix_tasks_open_assignee_due': ['assignee', 'status', 'due_at', 'requester'],
    'ix_tasks_decided_by': ['decided_by'],
}
# a role's tasks that nobody has claimed or been named for, in the inbox's three orders
UNCLAIMED_TASKS = {
    'ix_tasks_unclaimed_due': ['status', 'candidate_role', 'due_at', 'requester'],
    'ix_tasks_unclaimed_priority': ['status', 'candidate_role', 'priority', 'due_at', 'requester'],
    'ix_tasks_unclaimed_created': ['status', 'candidate_role', 'created_at', 'requester'],
}
NEW_PROCESSES = {
    'ix_processes_started': ['started_at', 'process_id'],
    'ix_processes_type_started': ['type', 'started_at', 'process_id'],
    'ix_processes_type_stage': ['type', 'stage', 'status'],
    'ix_processes_owner_started': ['owner', 'started_at', 'process_id'],
}


def upgrade() -> None:
    for name in OLD_TASKS:
        op.drop_index(name, table_name='tasks')
    for name, cols in NEW_TASKS.items():
        op.create_index(name, 'tasks', cols)
    for name, cols in UNCLAIMED_TASKS.items():
        op.create_index(name, 'tasks', cols, sqlite_where=sa.text(UNCLAIMED), postgresql_where=sa.text(UNCLAIMED))
    for name, cols in NEW_PROCESSES.items():
        op.create_index(name, 'processes', cols)


def downgrade() -> None:
    for name in NEW_PROCESSES:
        op.drop_index(name, table_name='processes')
    for name in [*NEW_TASKS, *UNCLAIMED_TASKS]:
        op.drop_index(name, table_name='tasks')
    for name, cols in OLD_TASKS.items():
        op.create_index(name, 'tasks', cols)
