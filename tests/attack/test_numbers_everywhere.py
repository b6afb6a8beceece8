"""Numbers in odd scripts, everywhere (issue 15, class 5): every number the API reads (each numeric field of every
request body, nested lines included, and each numeric query and path parameter) takes plain ASCII decimals only,
read the same way. The table of places is built from the app's own routes, so a new route or field with a number
that is not held to the rule fails here without anyone listing it."""

from __future__ import annotations

import types
import typing
from decimal import Decimal
from typing import Annotated, Any, Union

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from tests.attack.conftest import route_table

ODD = ["\u0661\u0662", "\uff11\uff12", "1_000", "1,000", "1e3", " 12", "12 ", "+12", "NaN", "Infinity", "\u0967\u0968",
       "0x1f", "12\u00a0"]
NUMBERS = (int, float, Decimal)


def _numeric(annotation: Any) -> bool:
    """Is this annotation (through Optional, Annotated, unions) a number?"""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _numeric(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_numeric(a) for a in typing.get_args(annotation) if a is not type(None))
    return isinstance(annotation, type) and issubclass(annotation, NUMBERS) and annotation is not bool


def _model_of(annotation: Any) -> type[BaseModel] | None:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        found = [m for a in typing.get_args(annotation) if (m := _model_of(a)) is not None]
        return found[0] if found else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _list_item(annotation: Any) -> Any | None:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _list_item(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        found = [i for a in typing.get_args(annotation) if (i := _list_item(a)) is not None]
        return found[0] if found else None
    if origin is list:
        return typing.get_args(annotation)[0]
    return None


def _number_paths(model: type[BaseModel], prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every numeric field of `model` as a path (a list's first element stands for its items)."""
    out: list[tuple[Any, ...]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        ann = field.annotation
        if _numeric(ann):
            out.append((*prefix, key))
        elif (sub := _model_of(ann)) is not None:
            out.extend(_number_paths(sub, (*prefix, key)))
        elif (item := _list_item(ann)) is not None:
            if _numeric(item):
                out.append((*prefix, key, 0))
            elif (sub := _model_of(item)) is not None:
                out.extend(_number_paths(sub, (*prefix, key, 0)))
    return out


def _nest(path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    return [_nest(rest, value)] if isinstance(head, int) else {head: _nest(rest, value)}


def _places() -> list[tuple[str, Any, tuple[Any, ...]]]:
    places = []
    for route in route_table():
        dependant = getattr(route, "dependant", None)
        if dependant is None or not str(getattr(route, "path", "")).startswith("/api"):
            continue
        where = f"{sorted(route.methods)[0]} {route.path}"
        for p in dependant.body_params:
            model = _model_of(p.field_info.annotation)
            if model is not None:
                places.extend((where, model, path) for path in _number_paths(model))
        for p in [*dependant.query_params, *dependant.path_params]:
            if _numeric(p.field_info.annotation):
                places.append((where, Annotated[p.field_info.annotation, p.field_info], (p.alias or p.name,)))
    return places


PLACES = _places()


def test_the_table_of_places_is_not_empty():
    wheres = {w for w, _, _ in PLACES}
    # a sample of what must be in it: the lines of documents, the header fields, the paging parameters
    for expected in ("POST /api/expense-claims", "POST /api/purchase-orders/{number}/receipts",
                     "POST /api/production-orders/{number}/progress", "POST /api/sales-orders",
                     "POST /api/opportunities/{number}/quotations", "GET /api/items", "POST /api/stock/adjustments"):
        assert expected in wheres, expected
    assert len(PLACES) > 40


@pytest.mark.parametrize(("where", "target", "path"), PLACES, ids=[f"{w} {'.'.join(map(str, p))}" for w, _, p in PLACES])
def test_every_number_the_api_reads_takes_plain_ascii_decimals_only(where, target, path):
    model = isinstance(target, type) and issubclass(target, BaseModel)
    adapter = TypeAdapter(target)
    for odd in ODD:
        data = _nest(path, odd) if model else odd
        try:
            adapter.validate_python(data)
        except ValidationError as e:
            errors = [x for x in e.errors() if tuple(x["loc"])[: len(path)] == path or not model]
            assert errors, (where, path, odd, e.errors())
            continue
        raise AssertionError(f"{where} {'.'.join(map(str, path))} took {odd!r} as a number")
    # and a plain decimal in the same place is read as a number (the place really is numeric)
    plain = _nest(path, "12") if model else "12"
    try:
        adapter.validate_python(plain)
    except ValidationError as e:
        assert not [x for x in e.errors() if tuple(x["loc"])[: len(path)] == path or not model], (where, path, e)
