"""The inspection result of a quarantine lot (workflows/inspection.py): checked in a read first (who, the lot, open,
the quantities adding up to the lot, a reason for a rejection: refused before the process hears of it, nothing
stored), then sent to the lot's process as an Update, which records it in one activity."""

from __future__ import annotations

from api.platform import Platform
from domain.core.errors import Conflict
from domain.inventory import quarantine
from domain.org.people import Actor
from domain.quality import rules
from domain.quality import services as quality
from workflows.inspection import Inspection


async def record(platform: Platform, actor: Actor, number: str, body: rules.InspectionIn) -> rules.InspectionOutcome:
    cmd = rules.InspectionCommand(actor=actor, result=body)
    await platform.read(quality.check, number, cmd)
    lot = await platform.read(quarantine.lot, number)
    if not lot.process_id:
        raise Conflict(f"the inspection of lot {number} is being opened; try again in a moment")

    async def recheck() -> None:
        await platform.read(quality.check, number, cmd)

    return await platform.update(platform.handle(lot.process_id), Inspection.record, cmd, recheck=recheck)
