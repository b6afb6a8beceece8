"""Scrap reason codes, as data: why units were scrapped on the shop floor (a progress report's `scrap_reason`).
Pages translate the labels; the code is what is stored (domain/production/scrap_tables.py). Pure."""

from __future__ import annotations

SCRAP_REASONS: dict[str, str] = {
    "setup": "Set-up scrap",
    "machining": "Machining error",
    "material": "Wrong or defective material",
    "assembly": "Assembly error",
    "test": "Failed the final test",
    "handling": "Damaged in handling",
    "other": "Other (see the note)",
}


def check_reason(scrap_qty: object, reason: str) -> None:
    """A scrap reason is one of the codes, and goes with a scrap quantity (ValueError: pydantic's 422)."""
    if not reason:
        return
    if reason not in SCRAP_REASONS:
        raise ValueError(f"{reason[:40]!r} is not a scrap reason; choose one of {', '.join(SCRAP_REASONS)}")
    if not scrap_qty:
        raise ValueError("a scrap reason goes with a scrap quantity above zero")
