"""The CRM pages: the pipeline by stage with the open leads and a new-lead form, a lead (score and why,
activities, the verdict), and an opportunity with its quotations, its stage moves, its loss and the
new-quotation form (posted to quotations.py). Every change goes to the lead's process through the
platform; a refusal shows the page again with the reason and changes nothing. Who sees what is the JSON
API's rule; anyone else gets a 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.auth import Principal
from api.deps import as_actor
from api.i18n import _, label
from api.routes.ui.notifications import document_panels
from api.routes.ui.pages import (
    HEADERS,
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    not_possible,
    page_router,
    redirect,
    render,
)
from api.starters import lead_to_order
from domain.core.errors import DomainError, Invalid, NotFound
from domain.core.numbers import read_number, read_whole
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.inventory.tables import Item
from domain.org import services as org
from domain.parties import prices as price_list
from domain.parties.tables import Customer
from domain.permissions import Action
from domain.sales import pipeline
from domain.sales import services as sales_svc

router = page_router()
# The opportunity page runs one script of its own: the quotation form's live promise per line.
PROMISE_CSP = HEADERS["Content-Security-Policy"] + "; script-src 'self'; connect-src 'self'"

QUOTE_ROWS = 4  # empty line rows on the new-quotation form
MAX_LINES = 50
SOURCES = [(s, s.replace("_", " ")) for s in crm.SOURCES]
LINE_FIELDS = {"sku": "the SKU", "qty": "the quantity", "unit_price": "the unit price", "discount_pct": "the discount"}
LEAD_FIELDS = {"company": "the company", "contact": "the contact", "email": "the e-mail", "phone": "the phone",
               "source": "the source", "estimated_value": "the estimated value", "notes": "the notes"}


def _sees_all(user: Principal) -> bool:
    return user.may(Action.LEAD_SEE_ALL)


def _seller(user: Principal) -> bool:
    return user.may(Action.LEAD_CREATE)


def _next_stage(stage: str) -> str:
    """The stage a move form offers first: the next one forward."""
    later = crm.OPEN_STAGES[crm.OPEN_STAGES.index(stage) + 1:] if stage in crm.OPEN_STAGES else ()
    return later[0] if later else ""


def may_work(s: Session, user: Principal, owner: str) -> bool:
    """The opportunity's process's own rule (crm.may_work_lead): its salesperson, their manager, an admin."""
    person = org.person(s, owner)
    return crm.may_work_lead(as_actor(user), owner, person.manager if person else None)


def may_quote(s: Session, user: Principal, number: str) -> bool:
    """A new quotation: a seller (the JSON API's rule) who may see the opportunity and whom its process lets
    work it (may_work)."""
    try:
        opp = sales_svc.visible_opportunity(s, number, (user.username, user.roles))
    except NotFound:
        return False
    return user.may(Action.QUOTATION_CREATE) and may_work(s, user, opp.owner)


PLAIN = {  # pydantic's wording where a form user would not understand it
    "missing": "is required", "string_too_short": "is required", "decimal_parsing": "must be a number",
    "literal_error": "is not one of the choices",
}
PATTERNS = {"email": "must be an e-mail address such as name@example.com",
            "phone": "must be a phone number: digits, spaces and + ( ) - . /"}


def form_errors(e: ValidationError, names: dict[str, str]) -> str:
    """pydantic's errors as one sentence, with the form's names for the fields and plain words."""
    parts = []
    for err in e.errors()[:5]:
        field = ".".join(str(p) for p in err.get("loc", ()))
        kind = err.get("type", "")
        name = names.get(field, field.replace("_", " "))
        if kind == "string_pattern_mismatch" or kind in PLAIN:
            parts.append(f"{name} {PATTERNS.get(field, 'is not in the expected form') if kind not in PLAIN else PLAIN[kind]}")
        else:
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{name}: {msg[:1].lower()}{msg[1:]}" if field else msg)
    text = "; ".join(parts) or "invalid input"
    return text[:1].upper() + text[1:]


# --- the pipeline -----------------------------------------------------------------------------------

async def _pipeline(v: Viewer, owner: str = "", *, status: int = 200, form: dict[str, str] | None = None,
                    **ctx: Any) -> Response:
    me, sees_all = v.user.username, _sees_all(v.user)
    who = (owner or None) if sees_all else me

    def load(s: Session) -> dict[str, Any]:
        return {"board": pipeline.pipeline(s, who), "leads": pipeline.open_leads(s, who),
                "salespeople": pipeline.salespeople(s)}

    data = await v.platform.read(load)
    default_owner = me if v.user.may(Action.LEAD_OWN) else ""
    return await render(v, "pipeline.html", status, section="sales", sees_all=sees_all, owner=who or "",
                        may_create=_seller(v.user), sources=SOURCES,
                        form=form or {"source": "website", "owner": default_owner}, **data, **ctx)


@router.get("/pipeline")
async def pipeline_page(v: ViewerDep, owner: Annotated[str, Query(max_length=60)] = "") -> Response:
    return await _pipeline(v, owner.strip())


@router.post("/pipeline/leads")
async def create_lead(v: PosterDep, company: Annotated[str, Form(max_length=200)] = "",
                      contact: Annotated[str, Form(max_length=200)] = "",
                      email: Annotated[str, Form(max_length=254)] = "",
                      phone: Annotated[str, Form(max_length=40)] = "",
                      source: Annotated[str, Form(max_length=20)] = "",
                      estimated_value: Annotated[str, Form(max_length=40)] = "",
                      notes: Annotated[str, Form(max_length=2000)] = "",
                      owner: Annotated[str, Form(max_length=60)] = "") -> Response:
    form = {"company": company, "contact": contact, "email": email, "phone": phone, "source": source,
            "estimated_value": estimated_value, "notes": notes, "owner": owner}
    if not _seller(v.user):
        return await _pipeline(v, status=403, form=form,
                               error=_("Entering a lead needs one of the roles sales, sales manager or admin."))
    data: dict[str, Any] = {k: val.strip() for k, val in form.items() if k != "owner"}
    try:
        value = read_number(data.pop("estimated_value"), "the estimated value")  # as typed: 1,250.50, １２５０
    except Invalid as e:
        return await _pipeline(v, status=422, form=form,
                               error=_("The lead was not saved. %(reason)s.", reason=e.message[:1].upper() + e.message[1:]))
    if value is not None:
        data["estimated_value"] = value
    try:
        lead = crm.LeadIn.model_validate(data)
    except ValidationError as e:
        return await _pipeline(v, status=422, form=form, error=_("The lead was not saved. %(reason)s.", reason=form_errors(e, LEAD_FIELDS)))
    try:
        out = await lead_to_order.create(v.platform, v.user.username, lead, owner.strip() or None)
    except DomainError as e:
        return await _pipeline(v, status=error_status(e), form=form, error=_("The lead was not saved. %(reason)s", reason=e.message))
    return redirect(f"/leads/{out['lead_id']}", msg=_("Lead %(number)s for %(company)s is saved and scored.",
                                                                   number=out["lead_id"], company=lead.company))


# --- a lead -----------------------------------------------------------------------------------------

async def _lead(v: Viewer, number: str, *, status: int = 200, **ctx: Any) -> Response:
    def load(s: Session) -> dict[str, Any]:
        view = crm_svc.lead_view(s, crm_svc.visible_lead(s, number, (v.user.username, v.user.roles)))
        customers = s.execute(select(Customer.id, Customer.name).where(Customer.active.is_(True))
                              .order_by(Customer.name).limit(500)).all()
        owner = org.person(s, view["owner"]) if view["owner"] else None
        return {"lead": view, "customers": [{"id": c.id, "name": c.name} for c in customers],
                "owner_manager": owner.manager if owner else None}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    lead = data["lead"]
    # The process's own rule (crm.may_work_lead): a button shows only where the process would take it.
    lead_open, owner_manager = lead["status"] in crm.OPEN_LEAD_STATUSES, data.pop("owner_manager")
    may_work = lead_open and crm.may_work_lead(as_actor(v.user), lead["owner"], owner_manager)
    return await render(v, "lead.html", status, section="sales", may_work=may_work, lead_open=lead_open,
                        kinds=["call", "email", "meeting", "note"],
                        panels=await document_panels(v, number, f"/leads/{number}"), **data, **ctx)


@router.get("/leads/{number}")
async def lead_page(number: str, v: ViewerDep) -> Response:
    return await _lead(v, number)


@router.post("/leads/{number}/activities")
async def log_activity(number: str, v: PosterDep, kind: Annotated[str, Form(max_length=20)] = "",
                       note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        await v.platform.glance(lambda s: crm_svc.visible_lead(s, number, (v.user.username, v.user.roles)))
    except DomainError as e:
        return await not_possible(v, e)
    try:
        cmd = crm.ActivityCommand(actor=as_actor(v.user), kind=kind, note=note.strip())
    except ValidationError:
        return await _lead(v, number, status=422, error=_("Choose what kind of activity it was: a call, an e-mail, "
                                                          "a meeting or a note. Nothing was recorded."))
    try:
        score = await lead_to_order.log_activity(v.platform, cmd, number)
    except DomainError as e:
        return await _lead(v, number, status=error_status(e), error=e.message)
    return redirect(f"/leads/{number}", msg=_("The %(kind)s is recorded; the lead's score is now %(score)s.",
                                                 kind=label(kind), score=score))


@router.post("/leads/{number}/qualify")
async def qualify(number: str, v: PosterDep, decision: Annotated[str, Form(max_length=20)] = "",
                  reason: Annotated[str, Form(max_length=500)] = "",
                  customer_id: Annotated[str, Form(max_length=12)] = "") -> Response:
    try:
        await v.platform.glance(lambda s: crm_svc.visible_lead(s, number, (v.user.username, v.user.roles)))
    except DomainError as e:
        return await not_possible(v, e)
    if decision == "disqualified" and not reason.strip():
        return await _lead(v, number, status=422, error=_("Say why the lead is disqualified. Nothing was changed."))
    try:
        cmd = crm.QualifyCommand(actor=as_actor(v.user), decision=decision,
                                 customer_id=read_whole(customer_id, "the customer"), reason=reason.strip())
    except (ValidationError, DomainError):
        return await _lead(v, number, status=422, error=_("Choose qualify or disqualify, and a customer from the "
                                                          "list. Nothing was changed."))
    try:
        opportunity = await lead_to_order.qualify(v.platform, cmd, number)
    except DomainError as e:
        return await _lead(v, number, status=error_status(e), error=e.message)
    if opportunity:
        return redirect(f"/opportunities/{opportunity}",
                        msg=_("Lead %(number)s is qualified: this is its opportunity %(opportunity)s.", number=number,
                              opportunity=opportunity))
    return redirect(f"/leads/{number}", msg=_("Lead %(number)s is disqualified.", number=number))


# --- an opportunity ---------------------------------------------------------------------------------

async def render_opportunity(v: Viewer, number: str, *, status: int = 200, form: dict[str, Any] | None = None,
                       **ctx: Any) -> Response:
    def load(s: Session) -> dict[str, Any]:
        opp = pipeline.opportunity_view(s, sales_svc.visible_opportunity(s, number, (v.user.username, v.user.roles)))
        items = s.execute(select(Item.sku, Item.name).order_by(Item.sku).limit(500)).all()
        listed = price_list.list_prices(s, [i.sku for i in items], opp["customer_id"])  # shown beside each line
        works = opp["stage"] not in crm.CLOSED_STAGES and may_work(s, v.user, opp["owner"])
        return {"opp": opp, "items": [{"sku": i.sku, "name": i.name, "price": listed.get(i.sku)} for i in items],
                "may_quote": works and v.user.may(Action.QUOTATION_CREATE),  # may_quote, with what is read already
                "may_work": works,
                "moves": [m for m in crm.allowed_moves(opp["stage"]) if m not in crm.CLOSED_STAGES],
                "next_stage": _next_stage(opp["stage"])}

    try:
        data = await v.platform.read(load)
    except DomainError as e:
        return await not_possible(v, e)
    rows = (form or {}).get("lines") or []
    rows = rows + [{}] * max(QUOTE_ROWS - len(rows), 1 if not rows else 0)
    response = await render(v, "opportunity.html", status, section="sales",
                            form={"valid_days": "30", "tax_rate": "0", **(form or {}), "lines": rows},
                            panels=await document_panels(v, number, f"/opportunities/{number}"), **data, **ctx)
    # The quotation form's own script (/static/promise.js) asks POST /api/planning/promise as lines are typed.
    response.headers["Content-Security-Policy"] = PROMISE_CSP
    return response


@router.get("/opportunities/{number}")
async def opportunity_page(number: str, v: ViewerDep) -> Response:
    return await render_opportunity(v, number)


@router.post("/opportunities/{number}/stage")
async def move_stage(number: str, v: PosterDep, stage: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        await v.platform.glance(lambda s: sales_svc.visible_opportunity(s, number, (v.user.username, v.user.roles)))
    except DomainError as e:
        return await not_possible(v, e)
    if stage not in crm.OPEN_STAGES:
        return await render_opportunity(v, number, status=422, error=_("Choose the stage to move to: qualification, "
                                                                  "proposal or negotiation. Nothing was changed."))
    try:
        moved = await lead_to_order.move_stage(v.platform, as_actor(v.user), number, stage)
    except DomainError as e:
        return await render_opportunity(v, number, status=error_status(e), error=e.message)
    return redirect(f"/opportunities/{number}", msg=_("Opportunity %(number)s is now at the %(stage)s stage.", number=number,
                                                         stage=label(moved)))


@router.post("/opportunities/{number}/lose")
async def lose(number: str, v: PosterDep, reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        await v.platform.glance(lambda s: sales_svc.visible_opportunity(s, number, (v.user.username, v.user.roles)))
    except DomainError as e:
        return await not_possible(v, e)
    if not reason.strip():
        return await render_opportunity(v, number, status=422, error=_("Say why the opportunity was lost. Nothing was "
                                                                  "changed."))
    try:
        withdrawn = await lead_to_order.lose(v.platform, as_actor(v.user), number, reason.strip())
    except DomainError as e:
        return await render_opportunity(v, number, status=error_status(e), error=e.message)
    msg = (_("Opportunity %(number)s is marked lost. Its open quotations %(quotations)s are withdrawn.",
             number=number, quotations=", ".join(withdrawn)) if withdrawn
           else _("Opportunity %(number)s is marked lost.", number=number))
    return redirect(f"/opportunities/{number}", msg=msg)
