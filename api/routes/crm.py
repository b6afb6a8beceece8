"""Leads: create, read (owner, creator, sales managers), log activities, qualify or disqualify."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, as_actor, require
from api.encoding import ok
from api.routes.common import Limit, Offset
from api.schemas import Body
from api.starters import lead_to_order
from domain.audit import services as audit
from domain.core.money import MAX_ID
from domain.core.numbers import PlainInt
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.crm.tables import Lead
from domain.permissions import Action

router = APIRouter(prefix="/api/leads", tags=["crm"])
rules_router = APIRouter(prefix="/api/scoring-rules", tags=["crm"])
LeadCreator = Annotated[Principal, Depends(require(Action.LEAD_CREATE))]
ScoringReader = Annotated[Principal, Depends(require(Action.LEAD_SCORING_READ))]
ScoringEditor = Annotated[Principal, Depends(require(Action.LEAD_SCORING_EDIT))]


class LeadCreateIn(crm.LeadIn):
    owner: str | None = Field(default=None, min_length=1, max_length=60)


class QualifyIn(Body):
    decision: Literal["qualified", "disqualified"]
    customer_id: PlainInt | None = Field(default=None, gt=0, le=MAX_ID)
    reason: str = Field(default="", max_length=500)


class ActivityIn(Body):
    kind: crm.ActivityKind
    note: str = Field(default="", max_length=2000)


@router.post("", status_code=201)
async def create(body: LeadCreateIn, user: LeadCreator, platform: PlatformDep) -> Any:
    lead = crm.LeadIn.model_validate(body.model_dump(exclude={"owner"}))
    return ok(await lead_to_order.create(platform, user.username, lead, body.owner), 201)


@router.get("")
async def list_leads(user: CurrentUser, platform: PlatformDep, status: str | None = None,
                     limit: Limit = 50, offset: Offset = 0) -> Any:
    q = select(Lead)
    if not user.may(Action.LEAD_SEE_ALL):
        q = q.where(or_(Lead.owner == user.username, Lead.created_by == user.username))
    if status:
        q = q.where(Lead.status == status)
    q = q.order_by(Lead.id.desc()).limit(limit).offset(offset)
    return ok(await platform.read(lambda s: [
        {"id": r.number, "lead_id": r.number, "company": r.company, "owner": r.owner, "status": r.status,
         "score": r.score, "estimated_value": r.estimated_value, "process_id": r.process_id}
        for r in s.execute(q).scalars()]))


@router.get("/{number}")
async def get_lead(number: str, user: CurrentUser, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: crm_svc.lead_view(s, crm_svc.visible_lead(s, number, (user.username, user.roles)))))


@router.post("/{number}/activities", status_code=201)
async def log_activity(number: str, body: ActivityIn, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: crm_svc.visible_lead(s, number, (user.username, user.roles)))
    score = await lead_to_order.log_activity(platform, crm.ActivityCommand(actor=as_actor(user), kind=body.kind,
                                                                 note=body.note), number)
    return ok({"lead_id": number, "score": score}, 201)


@router.post("/{number}/qualify")
async def qualify(number: str, body: QualifyIn, user: CurrentUser, platform: PlatformDep) -> Any:
    await platform.glance(lambda s: crm_svc.visible_lead(s, number, (user.username, user.roles)))
    opportunity = await lead_to_order.qualify(platform, crm.QualifyCommand(actor=as_actor(user), decision=body.decision,
                                                                 customer_id=body.customer_id,
                                                                 reason=body.reason), number)
    return ok({"lead_id": number, "status": body.decision, "opportunity_id": opportunity})


# --- the scoring rules (data: admin edits them; salespeople read them) -------------------------------

class ScoringRulesIn(Body):
    rules: list[crm.ScoringRule] = Field(max_length=200)


def _rules(s: Session) -> dict[str, Any]:
    return {"rules": [r.model_dump() for r in crm_svc.rules(s)]}


@rules_router.get("")
async def get_rules(user: ScoringReader, platform: PlatformDep) -> Any:
    return ok(await platform.read(_rules))


@rules_router.put("")
async def put_rules(body: ScoringRulesIn, user: ScoringEditor, platform: PlatformDep) -> Any:
    """Replace the whole table (order kept) and rescore the open leads, in one transaction."""
    def replace(s: Session) -> dict[str, Any]:
        before = [r.model_dump() for r in crm_svc.rules(s)]
        crm_svc.replace_rules(s, body.rules)
        audit.record(s, user.username, "scoring_rules", "all", {"rules": before},
                     {"rules": [r.model_dump() for r in body.rules]})
        return {**_rules(s), "rescored_leads": crm_svc.rescore_open_leads(s)}
    return ok(await platform.write(replace))
