"""Whole numbers as the API and the forms read them (issue 15, class 5): ids, days, paging and points take plain
ASCII digits on the API (PlainInt), and a form reads full-width digits but nothing str.isdigit() would wave through."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from domain.core.errors import Invalid
from domain.core.numbers import PlainInt, read_whole

PAGE = TypeAdapter(Annotated[PlainInt, Field(ge=1, le=500)])


@pytest.mark.parametrize("value", ["12", 12, 12.0, "500", "1"])
def test_plain_whole_numbers_are_read(value):
    assert PAGE.validate_python(value) == int(float(value))


@pytest.mark.parametrize("value", ["1_0", " 12", "12 ", "+12", "12.0", "1e1", "\u0661\u0662", "\uff11\uff12", "\u00b2",
                                   True, 12.5, "0x1f", "", "NaN", float("inf")])
def test_anything_else_is_refused_as_not_plain(value):
    with pytest.raises(ValidationError) as e:
        PAGE.validate_python(value)
    assert e.value.errors()[0]["type"] == "plain_int", e.value.errors()


def test_bounds_still_hold():
    with pytest.raises(ValidationError) as e:
        PAGE.validate_python("501")
    assert e.value.errors()[0]["type"] == "less_than_equal"


@pytest.mark.parametrize(("typed", "read"), [("30", 30), (" 30 ", 30), ("\uff13\uff10", 30), ("1,000", 1000),
                                             ("", None), ("  ", None), ("-2", -2)])
def test_a_form_reads_what_a_person_types(typed, read):
    assert read_whole(typed, "the days") == read


@pytest.mark.parametrize("typed", ["\u00b2", "\u0661\u0662", "1_0", "1.5", "1e1", "12 34", "1,5", "10000000000000"])
def test_a_form_refuses_what_is_no_whole_number_with_a_sentence(typed):
    with pytest.raises(Invalid) as e:
        read_whole(typed, "the days")
    assert e.value.message.startswith("the days must be a")
