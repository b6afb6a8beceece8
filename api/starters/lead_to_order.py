"""The lead → order process (workflows/lead_to_order.py): create a lead, its rep's qualification and activities,
and, once qualified, its opportunity's stage moves and loss. Its quotations: api/starters/quotation.py."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle

from api.platform import Platform
from domain import permissions
from domain.core import records as common
from domain.core.errors import Conflict, Invalid
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.org import services as org
from domain.org.people import Actor
from domain.processes import ids
from domain.sales import services as sales_svc
from workflows.common import search_attributes
from workflows.lead_to_order import LeadToOrder


async def create(platform: Platform, creator: str, lead: crm.LeadIn, owner: str | None) -> dict[str, Any]:
    def allocate(s: Any) -> str:
        who = org.person(s, owner) if owner is not None else None
        if owner is not None and (who is None or not permissions.may(who.roles, permissions.Action.LEAD_OWN)):
            held_by = " or ".join(sorted(permissions.roles_for(permissions.Action.LEAD_OWN)))
            raise Invalid(f"{owner} does not hold the role {held_by}, so cannot own a lead")
        return common.next_number(s, "LD")

    number = await platform.write(allocate)
    draft = crm.LeadDraft(number=number, created_by=creator, lead=lead, owner=owner)
    process_id = ids.lead(number, platform.id_prefix)
    status = await platform.start_and_update(
        LeadToOrder.run, draft, LeadToOrder.recorded_state, workflow_type="LeadToOrder", id=process_id,
        search_attributes=search_attributes("lead_to_order", number, owner or creator, lead.estimated_value,
                                            salesperson=owner, customer=lead.company))
    return {"lead_id": number, "process_id": process_id, "status": status}


async def _lead(platform: Platform, number: str) -> WorkflowHandle[Any, Any]:
    return platform.handle(await platform.read(lambda s: crm_svc.lead(s, number).process_id))


async def qualify(platform: Platform, cmd: crm.QualifyCommand, number: str) -> str | None:
    return await platform.update(await _lead(platform, number), LeadToOrder.qualify, cmd)


async def log_activity(platform: Platform, cmd: crm.ActivityCommand, number: str) -> int:
    return await platform.update(await _lead(platform, number), LeadToOrder.log_activity, cmd)


async def _opportunity(platform: Platform, number: str) -> WorkflowHandle[Any, Any]:
    opp = await platform.read(sales_svc.opportunity, number)
    if opp.stage in crm.CLOSED_STAGES:  # its process has ended: say why, not just "ended"
        raise Conflict(f"opportunity {number} is already {opp.stage}")
    return platform.handle(opp.process_id)


async def move_stage(platform: Platform, actor: Actor, number: str, stage: str) -> str:
    cmd = crm.StageCommand(actor=actor, stage=stage)
    return await platform.update(await _opportunity(platform, number), LeadToOrder.move_stage, cmd)


async def lose(platform: Platform, actor: Actor, number: str, reason: str) -> list[str]:
    cmd = crm.LoseCommand(actor=actor, reason=reason)
    return await platform.update(await _opportunity(platform, number), LeadToOrder.lose, cmd)
