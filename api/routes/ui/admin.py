"""The back office's pages: the first-run page (the company's name, currency, fiscal year, time zone), users (list
with search, paging and CSV; create; change roles, manager, active; reset a password), each user's own settings
(language, time zone, password), roles and the actions they hold (a change waits for a second admin or the cfo),
the approval policies' tier editor (a change waits likewise), and the lead scoring rules. Every record page shows
its audit trail."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Form, Path, Query
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.i18n import LOCALES, _
from api.routes.ui.pages import (
    PosterDep,
    Viewer,
    ViewerDep,
    error_status,
    page_router,
    rate_text,
    redirect,
    render,
)
from api.starters import change_approval
from domain import permissions
from domain.approvals import services as approvals
from domain.approvals.rules import PolicyTier, StepSpec
from domain.audit import services as audit
from domain.changes import services as changes
from domain.core.errors import DomainError, Invalid
from domain.core.numbers import read_number, read_whole
from domain.crm import rules as crm
from domain.crm import services as crm_svc
from domain.notifications import services as notifications
from domain.org import company, grants
from domain.org import services as org
from domain.org.tables import Role, User, UserRole
from domain.permissions import Action

router = page_router()
PAGE = 25
MONTHS = list(range(1, 13))
CURRENCIES = ("CNY", "USD", "EUR", "GBP", "JPY", "HKD", "SGD", "CHF")
ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore", "Asia/Tokyo", "Europe/London", "Europe/Berlin",
         "America/New_York", "America/Los_Angeles", "UTC")
Name = Annotated[str, Path(max_length=60)]



# --- first run: the company --------------------------------------------------------------------------

async def _setup_page(v: Viewer, status: int = 200, form: dict[str, Any] | None = None, **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.COMPANY_EDIT, _("the company's settings are admin's"))

    def load(s: Session) -> dict[str, Any]:
        return {"current": company.settings(s), "first_run": not company.is_set_up(s),
                "trail": audit.trail(s, "company", 1, limit=20)}

    data = await v.platform.read(load)
    if form is None:
        form = data["current"].model_dump()
        form["credit_limit_threshold"] = rate_text(form["credit_limit_threshold"])  # 50000, not 50000.0000
    return await render(v, "admin_setup.html", status, section="admin", form=form, months=MONTHS,
                        currencies=CURRENCIES, zones=ZONES, **data, **ctx)


@router.get("/setup")
async def setup(v: ViewerDep) -> Response:
    return await _setup_page(v)


@router.post("/setup")
async def save_setup(v: PosterDep, name: Annotated[str, Form(max_length=200)] = "",
                     base_currency: Annotated[str, Form(max_length=3)] = "",
                     fiscal_year_start: Annotated[str, Form(max_length=4)] = "1",
                     time_zone: Annotated[str, Form(max_length=60)] = "",
                     credit_limit_threshold: Annotated[str, Form(max_length=30)] = "") -> Response:
    form = {"name": name, "base_currency": base_currency, "fiscal_year_start": fiscal_year_start,
            "time_zone": time_zone, "credit_limit_threshold": credit_limit_threshold}
    try:
        permissions.check(v.user.roles, Action.COMPANY_EDIT, _("the company's settings are admin's"))
        if not name.strip():
            raise Invalid(_("The company needs a name."))
        threshold = read_number(credit_limit_threshold, _("The credit limit needing a second approval"))
        if threshold is None:
            threshold = (await v.platform.read(company.settings)).credit_limit_threshold
        try:
            new = company.CompanySettings(name=name, base_currency=base_currency.strip().upper(),
                                          fiscal_year_start=read_whole(fiscal_year_start, _("The fiscal year's first month")) or 1,
                                          time_zone=time_zone.strip(), credit_limit_threshold=threshold)
        except ValidationError as e:
            raise Invalid(_first_error(e)) from None
        await v.platform.write(lambda s: company.save(s, new, actor=v.user.username))
    except DomainError as e:
        return await _setup_page(v, error_status(e), form=form, error=e.message)
    return redirect("/admin", msg=_("The company's settings are saved."))


def _first_error(e: ValidationError) -> str:
    first = e.errors()[0]
    field = {"base_currency": _("Base currency"), "time_zone": _("Time zone"), "name": _("Name"),
             "credit_limit_threshold": _("Second approval of credit limits above"),
             "fiscal_year_start": _("Fiscal year starts")}.get(str((first.get("loc") or ("",))[0]), "")
    message = str(first.get("msg", "invalid")).replace("Value error, ", "")
    return f"{field}: {message}" if field else message


# --- users -------------------------------------------------------------------------------------------

def _user_rows(s: Session, q: str, offset: int, limit: int | None, role: str = "",
               status: str = "") -> tuple[list[dict[str, Any]], int]:
    query = select(User)
    if role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if status in ("active", "deactivated"):
        query = query.where(User.active.is_(status == "active"))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.username).like(like), func.lower(User.full_name).like(like),
                                func.lower(User.email).like(like)))
    total = s.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.order_by(User.username).offset(offset)
    if limit:
        query = query.limit(limit)
    rows = [{"username": u.username, **org.snapshot(u)} for u in s.execute(query).scalars()]
    return rows, int(total)


Role40 = Annotated[str, Query(max_length=40)]
Status = Annotated[str, Query(max_length=20)]


@router.get("/users")
async def users(v: ViewerDep, q: Annotated[str, Query(max_length=100)] = "",
                offset: Annotated[int, Query(ge=0, le=10**6)] = 0, role: Role40 = "", status: Status = "") -> Response:
    permissions.check(v.user.roles, Action.USER_CREATE, _("the users are admin's"))

    def load(s: Session) -> tuple[list[dict[str, Any]], int, list[str]]:
        rows, total = _user_rows(s, q.strip(), offset, PAGE, role, status)
        return rows, total, list(s.execute(select(Role.name).order_by(Role.name)).scalars())

    rows, total, all_roles = await v.platform.read(load)
    return await render(v, "admin_users.html", section="admin", users=rows, total=total, q=q, offset=offset,
                        page_size=PAGE, role=role, state=status, all_roles=all_roles)


@router.get("/users.csv")
async def users_csv(v: ViewerDep, q: Annotated[str, Query(max_length=100)] = "", role: Role40 = "",
                    status: Status = "") -> Response:
    permissions.check(v.user.roles, Action.USER_CREATE, _("the users are admin's"))
    rows, _total = await v.platform.read(lambda s: _user_rows(s, q.strip(), 0, None, role, status))
    out = io.StringIO()
    writer = csv.writer(out)
    columns: dict[str, Callable[[Any], str]] = {  # column: how it is written
               "username": str, "full_name": str, "email": str, "roles": " ".join,
               "manager": lambda m: m or "", "active": lambda on: "yes" if on else "no"}
    writer.writerow(list(columns))
    for r in rows:
        writer.writerow([write(r[name]) for name, write in columns.items()])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="users.csv"', "Cache-Control": "no-store"})


def _choices(s: Session) -> dict[str, Any]:
    return {"all_roles": list(s.execute(select(Role.name).order_by(Role.name)).scalars()),
            "managers": list(s.execute(select(User.username).where(User.active.is_(True))
                                       .order_by(User.username)).scalars())}


async def _new_user_page(v: Viewer, status: int = 200, form: dict[str, Any] | None = None, **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.USER_CREATE, _("the users are admin's"))
    data = await v.platform.read(_choices)
    form = form or {"username": "", "full_name": "", "email": "", "roles": [], "manager": ""}
    return await render(v, "admin_user_new.html", status, section="admin", form=form, **data, **ctx)


@router.get("/users/new")
async def new_user(v: ViewerDep) -> Response:
    return await _new_user_page(v)


@router.post("/users/new")
async def create_user(v: PosterDep, username: Annotated[str, Form(max_length=60)] = "",
                      full_name: Annotated[str, Form(max_length=120)] = "",
                      email: Annotated[str, Form(max_length=200)] = "",
                      roles: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006  # FastAPI copies it
                      manager_username: Annotated[str, Form(max_length=60)] = "",
                      password: Annotated[str, Form(max_length=200)] = "") -> Response:
    manager = manager_username
    form = {"username": username, "full_name": full_name, "email": email, "roles": roles, "manager": manager}
    try:
        permissions.check(v.user.roles, Action.USER_CREATE, _("the users are admin's"))
        name = username.strip()
        if not name or not name.isascii() or not (name[0].isalpha() and name[0].islower()) or \
                any(not (c.islower() or c.isdigit() or c in "_.-") for c in name) or len(name) < 2:
            raise Invalid(_("A username is 2 to 60 lower-case letters, digits, dots, dashes or underscores, "
                            "starting with a letter."))
        if not roles:
            raise Invalid(_("Give the user at least one role."))
        await v.platform.write(lambda s: org.create_user(s, name, password, roles, full_name.strip(),
                                                         manager or None, email=email, actor=v.user.username))
    except DomainError as e:
        return await _new_user_page(v, error_status(e), form=form, error=e.message)
    return redirect(f"/users/{name}", msg=_("User %(name)s is created.", name=name))


async def _user_page(v: Viewer, username: str, status: int = 200, **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.USER_CREATE, _("the users are admin's"))

    def load(s: Session) -> dict[str, Any]:
        u = org.user_by_name(s, username)
        return {"user": {"username": u.username, **org.snapshot(u)}, **_choices(s),
                "trail": audit.trail(s, "user", username, limit=50)}

    return await render(v, "admin_user.html", status, section="admin", **await v.platform.read(load), **ctx)


@router.get("/users/{username}")
async def user_page(username: Name, v: ViewerDep) -> Response:
    return await _user_page(v, username)


@router.post("/users/{username}")
async def change_user(username: Name, v: PosterDep, full_name: Annotated[str, Form(max_length=120)] = "",
                      email: Annotated[str, Form(max_length=200)] = "",
                      roles: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006  # FastAPI copies it
                      manager_username: Annotated[str, Form(max_length=60)] = "") -> Response:
    manager = manager_username
    try:
        permissions.check(v.user.roles, Action.USER_CREATE, _("the users are admin's"))
        await v.platform.write(lambda s: org.update_user(
            s, username, v.user.username, roles=roles, manager=manager or None, clear_manager=not manager,
            full_name=full_name, email=email))
    except DomainError as e:
        return await _user_page(v, username, error_status(e), error=e.message)
    return redirect(f"/users/{username}", msg=_("The changes to %(name)s are saved.", name=username))


@router.post("/users/{username}/active")
async def set_active(username: Name, v: PosterDep, active: Annotated[str, Form(max_length=5)] = "") -> Response:
    on = active == "1"
    try:
        permissions.check(v.user.roles, Action.USER_CREATE, _("the users are admin's"))
        await v.platform.write(lambda s: org.update_user(s, username, v.user.username, active=on))
    except DomainError as e:
        return await _user_page(v, username, error_status(e), error=e.message)
    return redirect(f"/users/{username}", msg=_("%(name)s is active again.", name=username) if on else
                    _("%(name)s is deactivated: their sessions have ended.", name=username))


@router.post("/users/{username}/password")
async def reset_password(username: Name, v: PosterDep, new: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        permissions.check(v.user.roles, Action.USER_CREATE, _("the users are admin's"))
        await v.platform.write(lambda s: org.set_password(s, username, new, actor=v.user.username))
    except DomainError as e:
        return await _user_page(v, username, error_status(e), error=e.message)
    return redirect(f"/users/{username}", msg=_("The password of %(name)s is reset: their sessions have ended.",
                                                name=username))


# --- my own settings ---------------------------------------------------------------------------------

async def _me_page(v: Viewer, status: int = 200, **ctx: Any) -> Response:
    def load(s: Session) -> dict[str, Any]:
        u = org.user_by_name(s, v.user.username)
        return {"settings": {"locale": u.locale or "", "time_zone": u.time_zone or "",
                             "notify": notifications.mode_of(s, v.user.username)},
                "company_zone": company.settings(s).time_zone}

    return await render(v, "admin_me.html", status, section="me", locales=LOCALES, zones=ZONES,
                        **await v.platform.read(load), **ctx)


@router.get("/me")
async def me(v: ViewerDep) -> Response:
    return await _me_page(v)


@router.post("/me")
async def save_me(v: PosterDep, locale: Annotated[str, Form(max_length=10)] = "",
                  time_zone: Annotated[str, Form(max_length=60)] = "",
                  notify: Annotated[str, Form(max_length=10)] = "") -> Response:
    def save(s: Session) -> None:
        org.set_preferences(s, v.user.username, locale or None, time_zone.strip() or None)
        if notify:
            notifications.set_mode(s, v.user.username, notify)

    try:
        await v.platform.write(save)
    except DomainError as e:
        return await _me_page(v, error_status(e), error=e.message)
    return redirect("/me", msg=_("Your settings are saved."))


@router.post("/me/password")
async def my_password(v: PosterDep, current: Annotated[str, Form(max_length=200)] = "",
                      new: Annotated[str, Form(max_length=200)] = "",
                      again: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        if new != again:
            raise Invalid(_("The two new passwords differ."))
        await v.platform.write(lambda s: org.change_password(s, v.user.username, current, new))
    except DomainError as e:
        return await _me_page(v, error_status(e), error=e.message)
    return redirect("/login", msg=_("Your password is changed. Log in with the new one."))


# --- roles and what they may do ----------------------------------------------------------------------

async def _roles_page(v: Viewer, status: int = 200, **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.ROLE_EDIT, _("the roles are admin's"))

    def load(s: Session) -> dict[str, Any]:
        return {"roles_list": grants.roles(s), "pending": changes.listing(s, changes.PENDING, limit=50),
                "recent": changes.listing(s, limit=20)}

    return await render(v, "admin_roles.html", status, section="admin", **await v.platform.read(load), **ctx)


@router.get("/roles")
async def roles(v: ViewerDep) -> Response:
    return await _roles_page(v)


@router.post("/roles")
async def create_role(v: PosterDep, name: Annotated[str, Form(max_length=40)] = "",
                      description: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        permissions.check(v.user.roles, Action.ROLE_EDIT, _("the roles are admin's"))
        row = await v.platform.write(lambda s: grants.create_role(s, name, description, v.user.username))
    except DomainError as e:
        return await _roles_page(v, error_status(e), error=e.message, form={"name": name, "description": description})
    return redirect(f"/roles/{row.name}", msg=_("Role %(name)s is created: tick what it may do.", name=row.name))


def _action_groups() -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for a in permissions.Action:
        groups.setdefault(str(a).split(".")[0], []).append(str(a))
    return sorted(groups.items())


async def _role_page(v: Viewer, role: str, status: int = 200, **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.ROLE_EDIT, _("the roles are admin's"))

    def load(s: Session) -> dict[str, Any]:
        if s.get(Role, role) is None:
            raise Invalid(_("There is no role %(name)s.", name=role))
        return {"role": role, "held": set(grants.role_actions(s, role)), "trail": audit.trail(s, "role", role),
                "pending": changes.pending_for(s, "role_grants", role)}

    return await render(v, "admin_role.html", status, section="admin", groups=_action_groups(),
                        **await v.platform.read(load), **ctx)


@router.get("/roles/{role}")
async def role_page(role: Annotated[str, Path(max_length=40)], v: ViewerDep) -> Response:
    return await _role_page(v, role)


@router.post("/roles/{role}")
async def propose_role(role: Annotated[str, Path(max_length=40)], v: PosterDep,
                       actions: Annotated[list[str], Form(max_length=200)] = []) -> Response:  # noqa: B006
    try:
        permissions.check(v.user.roles, Action.ROLE_EDIT, _("the roles are admin's"))
        await v.platform.read(lambda s: grants.check_actions(s, role, actions))
        change = await change_approval.propose(v.platform, v.user.username, "role_grants", role,
                                               {"actions": sorted(set(actions))})
    except DomainError as e:
        return await _role_page(v, role, error_status(e), error=e.message)
    return redirect(f"/roles/{role}", msg=_("Change %(n)s waits for a second admin or the cfo to approve it.",
                                            n=change["change_id"]))


# --- approval policies -------------------------------------------------------------------------------

NAMED_STEPS = ("role", "user")  # the step kinds that name someone; the other, the requester's manager, does not


def _steps_text(steps: list[StepSpec]) -> str:
    return ", ".join(f"{s.kind}:{s.value}" if s.value else s.kind for s in steps)


def _read_steps(text: str, row: int) -> list[StepSpec]:
    out = []
    for part in [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]:
        kind, _sep, value = part.partition(":")
        try:  # manager (the requester's, a relation: no value), role:<role>, user:<username>
            step = StepSpec.model_validate({"kind": kind.strip().lower(), "value": value.strip()})
        except ValidationError:
            step = None
        if step is not None and bool(step.value) == (step.kind in NAMED_STEPS):
            out.append(step)
        else:
            raise Invalid(_("Tier %(n)s: “%(step)s” is not a step; write manager, role:<role> or user:<username>.",
                            n=row, step=part[:40]))
    return out


async def _policies_page(v: Viewer) -> Response:
    permissions.check(v.user.roles, Action.POLICY_READ, _("the approval policies are for admin, finance and the cfo"))

    def load(s: Session) -> list[dict[str, Any]]:
        return [{"kind": k, "tiers": approvals.tiers(s, k), "pending": changes.pending_for(s, "approval_policy", k)}
                for k in changes.POLICY_KINDS]

    return await render(v, "admin_policies.html", section="admin", policies=await v.platform.read(load),
                        steps_text=_steps_text)


@router.get("/approval-policies")
async def policies(v: ViewerDep) -> Response:
    return await _policies_page(v)


async def _policy_page(v: Viewer, kind: str, status: int = 200, rows: list[dict[str, str]] | None = None,
                       **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.POLICY_READ, _("the approval policies are for admin, finance and the cfo"))
    if kind not in changes.POLICY_KINDS:
        raise Invalid(_("There is no approval policy %(name)s.", name=kind))

    def load(s: Session) -> dict[str, Any]:
        return {"tiers": approvals.tiers(s, kind), "trail": audit.trail(s, "approval_policy", kind),
                "pending": changes.pending_for(s, "approval_policy", kind),
                "all_roles": list(s.execute(select(Role.name).order_by(Role.name)).scalars())}

    data = await v.platform.read(load)
    if rows is None:
        rows = [{"above": format(t.above, "f"), "steps": _steps_text(t.steps)} for t in data["tiers"]]
    rows = rows + [{"above": "", "steps": ""} for _i in range(2)]
    return await render(v, "admin_policy.html", status, section="admin", kind=kind, rows=rows, **data, **ctx)


@router.get("/approval-policies/{kind}")
async def policy_page(kind: Annotated[str, Path(max_length=40)], v: ViewerDep) -> Response:
    return await _policy_page(v, kind)


@router.post("/approval-policies/{kind}")
async def propose_policy(kind: Annotated[str, Path(max_length=40)], v: PosterDep,
                         above: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006
                         steps: Annotated[list[str], Form(max_length=20)] = []) -> Response:  # noqa: B006
    typed = [{"above": a, "steps": st} for a, st in zip(above, steps, strict=False) if a.strip() or st.strip()]
    try:
        permissions.check(v.user.roles, Action.POLICY_EDIT, _("only admin edits the approval policies"))
        tiers = []
        for n, row in enumerate(typed, start=1):
            amount = read_number(row["above"], _("Tier %(n)s's amount", n=n))
            tier_steps = _read_steps(row["steps"], n)
            if not tier_steps:
                raise Invalid(_("Tier %(n)s needs at least one step.", n=n))
            try:
                tiers.append(PolicyTier(above=amount if amount is not None else Decimal(0), steps=tier_steps))
            except ValidationError as e:
                raise Invalid(_("Tier %(n)s: %(problem)s", n=n, problem=_first_error(e))) from None
        if not tiers:
            raise Invalid(_("A policy needs at least one tier."))
        change = await change_approval.propose(v.platform, v.user.username, "approval_policy", kind,
                                               {"tiers": [t.model_dump(mode="json") for t in tiers]})
    except DomainError as e:
        return await _policy_page(v, kind, error_status(e), rows=typed, error=e.message)
    return redirect(f"/approval-policies/{kind}",
                    msg=_("Change %(n)s waits for a second admin or the cfo to approve it.", n=change["change_id"]))


# --- lead scoring rules ------------------------------------------------------------------------------

RULE_KINDS = ("source", "value_at_least", "field_present", "is_customer", "engagement_at_least")


async def _rules_page(v: Viewer, status: int = 200, rows: list[dict[str, str]] | None = None,
                      **ctx: Any) -> Response:
    permissions.check(v.user.roles, Action.LEAD_SCORING_READ, _("the scoring rules are for sales and admin"))

    def load(s: Session) -> dict[str, Any]:
        return {"current": crm_svc.rules(s), "trail": audit.trail(s, "scoring_rules", "all", limit=20)}

    data = await v.platform.read(load)
    if rows is None:
        rows = [{"name": r.name, "kind": r.kind, "param": r.param, "points": str(r.points), "reason": r.reason}
                for r in data["current"]]
    rows = rows + [{"name": "", "kind": "source", "param": "", "points": "", "reason": ""} for _i in range(3)]
    return await render(v, "admin_scoring.html", status, section="admin", rows=rows, kinds=RULE_KINDS,
                        sources=sorted(crm.SOURCES), trail=data["trail"], **ctx)


@router.get("/scoring-rules")
async def scoring_rules(v: ViewerDep) -> Response:
    return await _rules_page(v)


@router.post("/scoring-rules")
async def save_scoring_rules(v: PosterDep, name: Annotated[list[str], Form(max_length=60)] = [],  # noqa: B006
                             kind: Annotated[list[str], Form(max_length=60)] = [],  # noqa: B006
                             param: Annotated[list[str], Form(max_length=60)] = [],  # noqa: B006
                             points: Annotated[list[str], Form(max_length=60)] = [],  # noqa: B006
                             reason: Annotated[list[str], Form(max_length=60)] = []) -> Response:  # noqa: B006
    typed = [{"name": n, "kind": k, "param": p, "points": pt, "reason": r}
             for n, k, p, pt, r in zip(name, kind, param, points, reason, strict=False)
             if n.strip() or p.strip() or pt.strip() or r.strip()]
    try:
        permissions.check(v.user.roles, Action.LEAD_SCORING_EDIT, _("only admin edits the scoring rules"))
        new: list[crm.ScoringRule] = []
        for n, row in enumerate(typed, start=1):
            try:
                new.append(crm.ScoringRule(name=row["name"], kind=row["kind"], param=row["param"],
                                           points=read_whole(row["points"], _("Rule %(n)s's points", n=n)) or 0,
                                           reason=row["reason"]))
            except ValidationError as e:
                raise Invalid(_("Rule %(n)s: %(problem)s", n=n, problem=_first_error(e))) from None

        def replace(s: Session) -> int:
            before = [r.model_dump() for r in crm_svc.rules(s)]
            crm_svc.replace_rules(s, new)
            audit.record(s, v.user.username, "scoring_rules", "all", {"rules": before},
                         {"rules": [r.model_dump() for r in new]})
            return crm_svc.rescore_open_leads(s)

        rescored = await v.platform.write(replace)
    except DomainError as e:
        return await _rules_page(v, error_status(e), rows=typed, error=e.message)
    return redirect("/scoring-rules", msg=_("The scoring rules are saved; %(n)s open leads were scored again.",
                                            n=rescored))
