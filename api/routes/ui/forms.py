"""The form designer's pages (admin): the form types; one form type's fields and route steps as rows to edit (save
publishes a new version); a preview of the form as a requester sees it and of the route a sample request would
take (for a requester and values typed in the preview, nothing saved). No JavaScript: Preview and "more rows" are
submit buttons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from api.i18n import N_, _
from api.routes.ui.pages import PosterDep, Viewer, ViewerDep, error_status, page_router, redirect, render
from domain import permissions
from domain.approvals.rules import ChainStep
from domain.audit import services as audit
from domain.core.errors import DomainError, Invalid
from domain.core.numbers import read_number, read_whole
from domain.core.types import utcnow
from domain.forms import rules
from domain.forms import services as forms
from domain.forms.rules import FormTypeIn
from domain.org import services as org
from domain.permissions import Action

router = page_router()
Key = Annotated[str, Path(max_length=40)]
MAX_ROWS = 60
SPARE_FIELDS, SPARE_STEPS = 2, 2
TYPE_NAMES = {"text": N_("text"), "number": N_("number"), "money": N_("money"), "date": N_("date"),
              "choice": N_("choice"), "user": N_("user"), "attachment": N_("attachment")}
ROW_KEYS = {"field": ("name", "label", "type", "required", "min", "max", "choices"),
            "step": ("name", "approver", "mode", "field", "op", "value", "sla")}


def _check_designer(v: Viewer) -> None:
    permissions.check(v.user.roles, Action.FORM_TYPE_MANAGE, _("the form designer is admin's"))


# --- the list ---------------------------------------------------------------------------------------------

@router.get("/form-types")
async def form_types(v: ViewerDep) -> Response:
    _check_designer(v)

    def load(s: Session) -> list[dict[str, Any]]:
        return [{**forms.view(r), "steps": len(r.definition.get("route", [])),
                 "fields_count": len(r.definition.get("fields", []))}
                for r in forms.list_types(s, include_inactive=True)]

    return await render(v, "form_types.html", section="admin", types=await v.platform.read(load))


# --- one form type: rows to edit --------------------------------------------------------------------------

def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def _rows_of(defn: dict[str, Any]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A stored definition as the designer's rows (all text, as typed)."""
    fields = [{"name": f["name"], "label": f.get("label", ""), "type": f["type"],
               "required": "1" if f.get("required") else "0", "min": _plain(f.get("min")), "max": _plain(f.get("max")),
               "choices": ", ".join(f.get("choices") or [])} for f in defn.get("fields", [])]
    steps = []
    for st in defn.get("route", []):
        approver = st["approver"]
        when = st.get("when") or {}
        steps.append({"name": st["name"], "approver": approver if isinstance(approver, str) else ", ".join(approver),
                      "mode": st.get("mode", "any"), "field": when.get("field", ""), "op": when.get("op", ">"),
                      "value": _plain(when.get("value")), "sla": _plain(st.get("sla_hours"))})
    return fields, steps


def _rows_typed(form: FormData, kind: str) -> list[dict[str, str]]:
    keys = ROW_KEYS[kind]
    columns = {k: [str(x) for x in form.getlist(f"{kind}_{k}")][:MAX_ROWS] for k in keys}
    count = max((len(c) for c in columns.values()), default=0)
    rows = [{k: (columns[k][i] if i < len(columns[k]) else "")[:300] for k in keys} for i in range(count)]
    return [r for r in rows if r["name"].strip() or (kind == "step" and r["approver"].strip())
            or (kind == "field" and r["label"].strip())]


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]


def _definition(key: str, head: dict[str, str], fields: list[dict[str, str]],
                steps: list[dict[str, str]]) -> FormTypeIn:
    """The rows as a definition (Invalid with a sentence naming the row when they do not make one)."""
    raw_fields: list[dict[str, Any]] = []
    for n, f in enumerate(fields, start=1):
        raw_fields.append({"name": f["name"].strip(), "label": f["label"].strip(), "type": f["type"],
                           "required": f["required"] == "1",
                           "min": read_number(f["min"], _("Field %(n)s's min", n=n)),
                           "max": read_number(f["max"], _("Field %(n)s's max", n=n)),
                           "choices": _split(f["choices"])})
    route: list[dict[str, Any]] = []
    for n, st in enumerate(steps, start=1):
        approvers = _split(st["approver"])
        step: dict[str, Any] = {"name": st["name"].strip() or st["approver"].strip(), "mode": st["mode"],
                                "approver": approvers[0] if len(approvers) == 1 else approvers,
                                "sla_hours": read_whole(st["sla"], _("Step %(n)s's SLA hours", n=n))}
        if st["field"].strip():
            step["when"] = {"field": st["field"].strip(), "op": st["op"], "value": st["value"].strip()}
        route.append(step)
    sla = read_whole(head.get("sla_hours", ""), _("The SLA hours"))
    raw = {"key": key.strip(), "name": head.get("name", "").strip(), "description": head.get("description", "").strip(),
           "dedupe": head.get("dedupe") == "1", "fields": raw_fields, "route": route,
           **({"sla_hours": sla} if sla is not None else {})}
    try:
        return FormTypeIn.model_validate(raw)
    except ValidationError as e:
        raise Invalid(_problem(e)) from None


def _problem(e: ValidationError) -> str:
    """The first problem of a definition as a sentence naming its row: "Field 2, name: ..."."""
    first = e.errors()[0]
    loc = [p for p in first.get("loc", ()) if not (isinstance(p, str) and p in ("str", "list[str]"))]
    message = str(first.get("msg", "invalid")).replace("Value error, ", "")
    if len(loc) >= 2 and loc[0] in ("fields", "route") and isinstance(loc[1], int):
        where = (_("Field %(n)s", n=loc[1] + 1) if loc[0] == "fields" else _("Step %(n)s", n=loc[1] + 1))
        rest = ".".join(str(p) for p in loc[2:])
        return f"{where}{', ' + rest if rest else ''}: {message}"
    if loc == ["fields"] or loc == ["route"]:
        return _("A form needs at least one field and one step.") if "at least" in message else message
    return f"{'.'.join(str(p) for p in loc)}: {message}" if loc else message


def _describe(step: ChainStep) -> str:
    def one(s: ChainStep) -> str:
        if s.candidate_user:
            return s.candidate_user
        return _("anyone holding %(role)s (%(who)s)", role=s.candidate_role, who=", ".join(s.eligible))

    if not step.parts:
        return one(step)
    who = ", ".join(one(p) for p in step.parts)
    return _("all of: %(who)s", who=who) if step.mode == "all" else _("any one of: %(who)s", who=who)


def _preview(s: Session, defn: FormTypeIn, sample: dict[str, str], requester: str) -> dict[str, Any]:
    """The route a sample request takes (each step: who, its SLA; the steps a condition leaves out), or the
    sentence saying why it cannot be resolved."""
    forms.check(s, defn)
    people = org.people(s)
    values: dict[str, Any] = {}
    for f in defn.fields:
        typed = sample.get(f.name, "")
        if f.type in ("number", "money"):
            number = read_number(typed, f.title)
            values[f.name] = None if number is None else number
        elif f.type == "attachment":
            values[f.name] = ["preview"] if typed.strip() else None
        else:
            values[f.name] = typed
    normalized = rules.check_values(defn, values, today=utcnow().date(),
                                    users={u for u, p in people.items() if p.active})
    steps = rules.resolve_route(defn, normalized, requester, people)
    taken = {st.name for st in steps}
    skipped = [{"name": st.name, "when": st.when.describe() if st.when else ""}
               for st in defn.route if st.name not in taken]  # a condition that does not hold, or folded
    return {"steps": [{"index": st.index, "name": st.name, "who": _describe(st), "sla_hours": st.sla_hours,
                       "mode": st.mode, "parts": len(st.parts)} for st in steps],
            "skipped": skipped}


async def _editor(v: Viewer, key: str | None, status: int = 200, *, head: dict[str, str] | None = None,
                  fields: list[dict[str, str]] | None = None, steps: list[dict[str, str]] | None = None,
                  sample: dict[str, str] | None = None, requester: str = "", preview: dict[str, Any] | None = None,
                  spare_fields: int = SPARE_FIELDS, spare_steps: int = SPARE_STEPS, **ctx: Any) -> Response:
    _check_designer(v)

    def load(s: Session) -> dict[str, Any]:
        people = org.people(s)
        row = forms.latest(s, key) if key else None
        trail = audit.trail(s, forms.ENTITY, key, limit=20) if key else []
        history = [{"version": t["after"].get("version"), "actor": t["actor"], "at": t["at"]} for t in trail
                   if isinstance(t["after"], dict) and t["after"].get("version")]
        return {"row": forms.view(row) if row else None, "history": history,
                "users": sorted(u for u, p in people.items() if p.active),
                "all_roles": sorted({r for p in people.values() for r in p.roles})}

    data = await v.platform.read(load)
    if head is None:
        row = data["row"] or {}
        head = {"key": row.get("key", ""), "name": row.get("name", ""), "description": row.get("description", ""),
                "sla_hours": _plain(row.get("sla_hours", 48)), "dedupe": "1" if row.get("dedupe") else "0"}
        fields, steps = _rows_of(row)
    fields = list(fields or []) + [dict.fromkeys(ROW_KEYS["field"], "") | {"type": "text", "required": "0"}
                                   for _i in range(spare_fields)]
    steps = list(steps or []) + [dict.fromkeys(ROW_KEYS["step"], "") | {"mode": "any", "op": ">"}
                                 for _i in range(spare_steps)]
    shown = [f for f in fields if f["name"].strip()]
    return await render(v, "form_type.html", status, section="admin", key=key, head=head, fields=fields,
                        steps=steps, shown=[_shown(f) for f in shown], sample=sample or {},
                        requester=requester or "erin", preview=preview, field_types=rules.FIELD_TYPES,
                        type_names=TYPE_NAMES, ops=rules.OPS, **data, **ctx)


def _shown(f: dict[str, str]) -> dict[str, Any]:
    """A designer row as the preview renders it (what a requester will see)."""
    return {"name": f["name"].strip(), "label": f["label"].strip() or f["name"].strip(), "type": f["type"],
            "required": f["required"] == "1", "choices": _split(f["choices"]), "min": f["min"], "max": f["max"]}


@router.get("/form-types/new")
async def new_form_type(v: ViewerDep) -> Response:
    return await _editor(v, None, spare_fields=3, spare_steps=3)


@router.get("/form-types/{key}")
async def form_type(key: Key, v: ViewerDep) -> Response:
    return await _editor(v, key)


async def _post(v: Viewer, key: str | None, form: FormData) -> Response:
    head = {k: str(form.get(k, ""))[:2000] for k in ("key", "name", "description", "sla_hours", "dedupe")}
    if key:
        head["key"] = key
    fields, steps = _rows_typed(form, "field"), _rows_typed(form, "step")
    action = str(form.get("action", "save"))
    sample = {str(k)[7:]: str(val)[:300] for k, val in form.multi_items() if str(k).startswith("sample_")}
    requester = sample.pop("requester", "")
    keep: dict[str, Any] = {"head": head, "fields": fields, "steps": steps, "sample": sample, "requester": requester}
    if action in ("add_field", "add_step"):
        return await _editor(v, key, **keep, spare_fields=SPARE_FIELDS + (action == "add_field") * 3,
                             spare_steps=SPARE_STEPS + (action == "add_step") * 3)
    try:
        _check_designer(v)
        defn = _definition(head["key"], head, fields, steps)
        if action == "preview":
            preview = await v.platform.read(lambda s: _preview(s, defn, sample, requester or "erin"))
            return await _editor(v, key, **keep, preview=preview)
        saved, version = await v.platform.write(lambda s: forms.save(s, v.user.username, defn, new=key is None))
    except DomainError as e:
        return await _editor(v, key, error_status(e), **keep, error=e.message,
                             preview={"error": e.message} if action == "preview" else None)
    return redirect(f"/form-types/{saved}", msg=_("Form type %(key)s version %(version)s is published.",
                                                  key=saved, version=version))


@router.post("/form-types/new")
async def create_form_type(v: PosterDep) -> Response:
    request = v.request
    assert request is not None
    return await _post(v, None, await request.form(max_fields=4000))


@router.post("/form-types/{key}")
async def publish_form_type(key: Key, v: PosterDep) -> Response:
    request = v.request
    assert request is not None
    return await _post(v, key, await request.form(max_fields=4000))

