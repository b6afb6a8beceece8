"""The back office's JSON routes (admin): the company's settings, users (change, reset a password), a user's own
settings, permissions as data (roles and the actions they hold), the audit trail, and the changes that wait for a
second approval (a role's actions: 202, pending until a second admin or the cfo approves)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, require
from api.encoding import ok
from api.routes.common import Limit, Offset
from api.schemas import Body
from api.starters import change_approval
from domain.audit import services as audit
from domain.changes import services as changes
from domain.core.errors import Invalid
from domain.core.money import MAX_AMOUNT, MAX_ID
from domain.core.numbers import PlainDecimal, PlainInt
from domain.notifications import services as notifications
from domain.org import company, grants
from domain.org import services as org
from domain.permissions import Action

router = APIRouter(prefix="/api", tags=["back office"])

CompanyAdmin = Annotated[Principal, Depends(require(Action.COMPANY_EDIT))]
UserAdmin = Annotated[Principal, Depends(require(Action.USER_CREATE))]
RoleAdmin = Annotated[Principal, Depends(require(Action.ROLE_EDIT))]
AuditReader = Annotated[Principal, Depends(require(Action.AUDIT_READ))]


class CompanyIn(Body):
    name: str = Field(min_length=1, max_length=200)
    base_currency: str = Field(min_length=3, max_length=3)
    fiscal_year_start: PlainInt = Field(ge=1, le=12)
    time_zone: str = Field(min_length=1, max_length=60)
    credit_limit_threshold: PlainDecimal | None = Field(
        default=None, ge=0, le=MAX_AMOUNT, decimal_places=2,
        description="a credit limit above this waits for a second approval; left out: unchanged")


class UserPatch(Body):
    roles: list[Annotated[str, Field(max_length=40)]] | None = Field(default=None, min_length=1, max_length=10)
    manager: str | None = Field(default=None, max_length=60, description="a username; \"\" for none")
    active: bool | None = None
    full_name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=200)


class PasswordResetIn(Body):
    new: str = Field(min_length=1, max_length=200)


class SettingsIn(Body):
    locale: str | None = Field(default=None, max_length=10, description="en, zh_Hans, or null: the browser's")
    time_zone: str | None = Field(default=None, max_length=60, description="an IANA name, or null: the company's")
    notify: Literal["now", "digest", "off"] | None = Field(
        default=None, description="how notifications reach you: an e-mail at once, a daily digest, or none; "
        "a body with only this field changes nothing else")


class RoleIn(Body):
    name: str = Field(min_length=2, max_length=40)
    description: str = Field(default="", max_length=200)


class RoleActionsIn(Body):
    actions: list[Annotated[str, Field(max_length=60)]] = Field(max_length=200)


def _company(body: CompanyIn, threshold: Decimal) -> company.CompanySettings:
    from pydantic import ValidationError

    try:
        return company.CompanySettings(name=body.name, base_currency=body.base_currency.upper(),
                                       fiscal_year_start=body.fiscal_year_start, time_zone=body.time_zone,
                                       credit_limit_threshold=body.credit_limit_threshold
                                       if body.credit_limit_threshold is not None else threshold)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise Invalid(f"{field}: {first.get('msg', 'invalid')}".replace("Value error, ", "")) from None


@router.get("/company")
async def get_company(user: CompanyAdmin, platform: PlatformDep) -> Any:
    return ok((await platform.read(company.settings)).model_dump())


@router.put("/company")
async def put_company(body: CompanyIn, user: CompanyAdmin, platform: PlatformDep) -> Any:
    current = await platform.read(company.settings)
    new = _company(body, current.credit_limit_threshold)
    if not new.name:
        raise Invalid("the company needs a name")
    saved = await platform.write(lambda s: company.save(s, new, actor=user.username))
    return ok(saved.model_dump())


def _user_view(s: Session, username: str) -> dict[str, Any]:
    u = org.user_by_name(s, username)
    return {"username": u.username, **org.snapshot(u), "locale": u.locale, "time_zone": u.time_zone}


@router.get("/users/{username}")
async def get_user(username: str, user: UserAdmin, platform: PlatformDep) -> Any:
    return ok(await platform.read(lambda s: _user_view(s, username)))


@router.patch("/users/{username}")
async def patch_user(username: str, body: UserPatch, user: UserAdmin, platform: PlatformDep) -> Any:
    def change(s: Session) -> dict[str, Any]:
        org.update_user(s, username, user.username, roles=body.roles,
                        manager=body.manager or None, clear_manager=body.manager == "", active=body.active,
                        full_name=body.full_name, email=body.email)
        return _user_view(s, username)
    return ok(await platform.write(change))


@router.post("/users/{username}/password")
async def reset_password(username: str, body: PasswordResetIn, user: UserAdmin, platform: PlatformDep) -> Any:
    """Admin sets a new password (the user's sessions end at once)."""
    await platform.write(lambda s: org.set_password(s, username, body.new, actor=user.username))
    return ok({"username": username, "password": "reset"})


@router.put("/me/settings")
async def put_my_settings(body: SettingsIn, user: CurrentUser, platform: PlatformDep) -> Any:
    only_notify = body.model_fields_set == {"notify"}

    def save(s: Session) -> dict[str, Any]:
        if not only_notify:
            org.set_preferences(s, user.username, body.locale, body.time_zone or None)
        if body.notify is not None:
            notifications.set_mode(s, user.username, body.notify)
        u = org.user_by_name(s, user.username)
        return {"locale": u.locale, "time_zone": u.time_zone, "notify": notifications.mode_of(s, user.username)}

    return ok(await platform.write(save))


@router.get("/permissions")
async def list_permissions(user: RoleAdmin, platform: PlatformDep) -> Any:
    """Every action the code names, with the roles holding it."""
    return ok(await platform.read(grants.listing))


@router.get("/roles")
async def list_roles(user: RoleAdmin, platform: PlatformDep) -> Any:
    return ok(await platform.read(grants.roles))


@router.post("/roles", status_code=201)
async def create_role(body: RoleIn, user: RoleAdmin, platform: PlatformDep) -> Any:
    row = await platform.write(lambda s: grants.create_role(s, body.name, body.description, user.username))
    return ok({"name": row.name, "description": row.description, "actions": []}, 201)


@router.put("/roles/{role}", status_code=202)
async def put_role(role: str, body: RoleActionsIn, user: RoleAdmin, platform: PlatformDep) -> Any:
    """The actions `role` is to hold: a change that takes effect once a second admin or the cfo approves it."""
    await platform.read(lambda s: grants.check_actions(s, role, body.actions))  # 404 / 422 before anything starts
    return ok(await change_approval.propose(platform, user.username, "role_grants", role,
                                            {"actions": sorted(set(body.actions))}), 202)


@router.get("/changes")
async def list_changes(user: RoleAdmin, platform: PlatformDep,
                       status: Annotated[str | None, Query(max_length=20)] = None) -> Any:
    return ok([c.model_dump() for c in await platform.read(lambda s: changes.listing(s, status))])


@router.get("/changes/{change_id}")
async def get_change(change_id: Annotated[PlainInt, Path(ge=1, le=MAX_ID)], user: RoleAdmin,
                     platform: PlatformDep) -> Any:
    def load(s: Session) -> dict[str, Any]:
        row = changes.get(s, change_id)
        return {**changes.view(row).model_dump(), "proposal": row.proposal, "before": row.before,
                "decided_by": row.decided_by, "comment": row.comment}
    return ok(await platform.read(load))


@router.get("/audit")
async def audit_trail(user: AuditReader, platform: PlatformDep,
                      entity: Annotated[str | None, Query(max_length=60)] = None,
                      key: Annotated[str | None, Query(max_length=120)] = None,
                      limit: Limit = 100, offset: Offset = 0) -> Any:
    return ok(await platform.read(lambda s: audit.trail(s, entity, key, limit, offset)))
