"""Form types as data: admin publishes a form and its route (a new version on each change); everyone reads them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from api.auth import Principal
from api.deps import CurrentUser, PlatformDep, require
from api.encoding import ok
from domain.core.errors import Invalid
from domain.core.numbers import PlainInt
from domain.forms import rules
from domain.forms import services as forms
from domain.forms.rules import FormTypeIn
from domain.permissions import Action

router = APIRouter(prefix="/api/form-types", tags=["form types"])

Designer = Annotated[Principal, Depends(require(Action.FORM_TYPE_MANAGE))]
Key = Annotated[str, Path(min_length=2, max_length=40, pattern=rules.FORM_KEY)]


class FormTypeUpdate(FormTypeIn):
    """A new version of the form type in the path: the key may be left out (if given, it must be the same)."""

    key: str | None = Field(default=None, min_length=2, max_length=40, pattern=rules.FORM_KEY)  # type: ignore[assignment]


@router.post("", status_code=201)
async def create(body: FormTypeIn, user: Designer, platform: PlatformDep) -> Any:
    key, version = await platform.write(lambda s: forms.save(s, user.username, body, new=True))
    return ok({"key": key, "version": version}, 201)


@router.put("/{key}")
async def publish(key: Key, body: FormTypeUpdate, user: Designer, platform: PlatformDep) -> Any:
    if body.key is not None and body.key != key:
        raise Invalid(f"the body's key {body.key!r} is not the form type {key!r} of the address")
    defn = FormTypeIn.model_validate({**body.model_dump(), "key": key})
    saved, version = await platform.write(lambda s: forms.save(s, user.username, defn, new=False))
    return ok({"key": saved, "version": version})


@router.get("")
async def list_types(user: CurrentUser, platform: PlatformDep) -> Any:
    """The newest version of every active form type."""
    return ok(await platform.read(lambda s: [forms.view(r) for r in forms.list_types(s)]))


@router.get("/{key}")
async def get_type(key: Key, user: CurrentUser, platform: PlatformDep,
                   version: Annotated[PlainInt | None, Query(ge=1, le=100000)] = None) -> Any:
    """The newest version of `key`, or version `version` (which a running request may still use)."""
    return ok(await platform.read(lambda s: forms.view(forms.latest(s, key) if version is None
                                                        else forms.version(s, key, version))))
