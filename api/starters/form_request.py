"""The form request process (workflows/form_request.py): file a request on a form type, and the requester's
cancel and resubmission. The values are checked here, against the form type version, before anything is stored
(a workflow cannot read the database); the process records what it is given."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from api.platform import Platform
from domain.approvals import absence
from domain.attachments import services as attachments
from domain.core import records as common
from domain.core.errors import Conflict, Invalid
from domain.forms import request_rules, requests
from domain.forms import rules as forms
from domain.forms import services as forms_svc
from domain.forms.request_rules import RequestDraft, RequestStatus
from domain.org import services as org
from domain.org.people import Actor
from domain.processes import ids
from workflows.common import search_attributes
from workflows.form_request import FormRequest


def checked_values(s: Session, defn: forms.FormTypeIn, requester: str, values: dict[str, Any],
                   number: str | None = None) -> dict[str, Any]:
    """`values` checked against the form (Invalid naming the field) and, for leave, against the requester's
    balance of the year it starts in, less their other leave requests waiting for approval (`number`: the request
    resubmitted, not counted twice); normalized."""
    today = datetime.now(UTC).date()
    out = forms.check_values(defn, values, today=today, users=set(absence.active_usernames(s)))
    if defn.key == request_rules.LEAVE and out.get("deputy") == requester:  # the approved leave would not be marked
        raise Invalid(f"'deputy' names {requester}, who files this leave: name someone who takes your tasks")
    if defn.key == request_rules.LEAVE and "days" in out:
        first, last = out.get("from"), out.get("to")
        if first is not None and last is not None:
            forms.check_leave_days(out["days"], first, last)
        year = (first or today).year
        left, pending = forms_svc.days_left(s, requester, year), requests.pending_leave_days(s, requester, year,
                                                                                           exclude=number)
        if pending and out["days"] > left - pending:  # each fits the balance alone; approved, all would be taken
            raise Invalid(f"{forms.days_text(out['days'])} days of leave is more than the "
                          f"{forms.days_text(max(left - pending, Decimal(0)))} days left this year once your leave "
                          f"requests waiting for approval ({forms.days_text(pending)} days) are taken")
        forms.check_leave_balance(left, out["days"])
    return out


def _attachment_ids(defn: forms.FormTypeIn, values: dict[str, Any]) -> list[str]:
    return [i for f in defn.fields if f.type == "attachment" for i in values.get(f.name) or []]


async def submit(platform: Platform, requester: str, form: str, values: dict[str, Any]) -> dict[str, Any]:
    def allocate(s: Session) -> RequestDraft:
        row = forms_svc.latest(s, form)
        defn = forms_svc.definition(row)
        checked = checked_values(s, defn, requester, values)
        # Resolved here, once: a route nobody could fill is refused now; the process runs this one.
        steps = forms.resolve_route(defn, checked, requester, org.people(s))
        number = common.next_number(s, "FR")
        # The requester's draft uploads named in the values join the request (Invalid: not their own drafts).
        attachments.link(s, _attachment_ids(defn, checked), number, requester)
        plain = request_rules.as_json(checked)
        return RequestDraft(number=number, form_key=row.key, version=row.version, form_name=row.name,
                            definition=row.definition, requester=requester,
                            title=request_rules.title_of(row.name, number, requester, plain,
                                                          {f.name: f.type for f in defn.fields}),
                            values=plain,
                            steps=steps, dedupe=defn.dedupe)

    draft = await platform.write(allocate)
    process_id = ids.form_request(draft.number, platform.id_prefix)
    status = await platform.start_and_update(
        FormRequest.run, draft, FormRequest.recorded_state, workflow_type="FormRequest", id=process_id,
        search_attributes=search_attributes(requests.KIND, draft.number, requester,
                                            request_rules.amount_of(draft.values)))
    return {"request_id": draft.number, "process_id": process_id, "status": status, "form": draft.form_key,
            "version": draft.version}


async def cancel(platform: Platform, actor: Actor, number: str) -> str:
    async def pending() -> None:  # its process may have ended: say the state
        row = await platform.read(requests.get, number)
        if row.status not in (RequestStatus.PENDING_APPROVAL, RequestStatus.SENT_BACK):
            raise Conflict(f"request {number} is {row.status}; only a request pending approval can be cancelled")

    await pending()
    handle = platform.handle(ids.form_request(number, platform.id_prefix))
    return await platform.update(handle, FormRequest.cancel, actor, recheck=pending)


def check_same_route(defn: forms.FormTypeIn, filed: dict[str, Any], changed: dict[str, Any], number: str) -> None:
    """The route was resolved from the values as filed, and the process runs that one: changed values that would
    take another route (a trip's advance raised past the finance step's bound, a leave lengthened past the
    manager's manager's) would skip the steps they need, so they are refused."""
    for step in defn.route:
        if step.when is not None and forms.holds(step.when, defn, filed) != forms.holds(step.when, defn, changed):
            raise Invalid(f"the changed values {'need' if forms.holds(step.when, defn, changed) else 'drop'} the "
                          f"step {step.name!r} ({step.when.describe()}), which request {number} was not routed "
                          "with: cancel it and file a new request with these values")


async def resubmit(platform: Platform, actor: Actor, number: str, values: dict[str, Any]) -> str:
    """New values for a request sent back: checked against the form version it was filed on."""
    def check(s: Session) -> dict[str, Any]:
        row = requests.get(s, number)
        request_rules.check_may_resubmit(actor, row.requester, row.status, number)
        if not requests.sent_back(s, row):
            raise Conflict(f"request {number} was not sent back; only a request sent back for changes can be "
                           "resubmitted")
        defn = forms_svc.definition(forms_svc.version(s, row.form_key, row.version))
        checked = checked_values(s, defn, row.requester, values, number)
        check_same_route(defn, row.values, checked, number)
        attachments.link(s, _attachment_ids(defn, checked), number, row.requester)
        return request_rules.as_json(checked)

    async def still_open() -> None:
        row = await platform.read(requests.get, number)
        request_rules.check_may_resubmit(actor, row.requester, row.status, number)

    plain = await platform.write(check)
    handle = platform.handle(ids.form_request(number, platform.id_prefix))
    return await platform.update(handle, FormRequest.resubmit, actor, plain, recheck=still_open)
