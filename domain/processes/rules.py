"""A process's status and its steps' statuses, as the activities write them and the monitor reads them. Pure."""

from __future__ import annotations

from enum import StrEnum


class ProcessStatus(StrEnum):
    """A process's status (its row's `status`, equal to the string stored there)."""

    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # its document was withdrawn
    FAILED = "failed"


class StepStatus(StrEnum):
    """A step of a process on its monitor (a `process_steps` row's `status`)."""

    ACTIVE = "active"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
