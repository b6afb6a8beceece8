"""list indexes: the inbox's parts walked in order (role, named, claimed; by due, priority, creation) and the
monitor newest first (any, per type) and its counts by type and stage

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:25:00
"""
from collections.abc import Sequence

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
NEW_TASKS = {
    'ix_tasks_open_role_due': ['status', 'candidate_role', 'assignee', 'candidate_user', 'due_at', 'requester'],
    'ix_tasks_open_role_priority': ['status', 'candidate_role', 'assignee', 'candidate_user', 'priority', 'due_at',
                                    'requester'],
    'ix_tasks_open_role_created': ['status', 'candidate_role', 'assignee', 'candidate_user', 'created_at',
                                   'requester'],
    'ix_tasks_open_user_due': ['candidate_user', 'status', 'assignee', 'due_at', 'requester'],
    'ix_tasks_open_assignee_due': ['assignee', 'status', 'due_at', 'requester'],
    'ix_tasks_decided_by': ['decided_by'],
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
    for name, cols in NEW_PROCESSES.items():
        op.create_index(name, 'processes', cols)


def downgrade() -> None:
    for name in NEW_PROCESSES:
        op.drop_index(name, table_name='processes')
    for name in NEW_TASKS:
        op.drop_index(name, table_name='tasks')
    for name, cols in OLD_TASKS.items():
        op.create_index(name, 'tasks', cols)
