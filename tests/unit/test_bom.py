"""BOM rules (domain/manufacturing/bom.py): scrap, cycles named by their path, low-level codes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.core.errors import Invalid
from domain.manufacturing.bom import Bom, BomLine, check_boms, find_cycle, low_level_codes, need

D = Decimal


def bom(item: str, *lines: tuple[str, str] | tuple[str, str, str]) -> Bom:
    return Bom(item=item, lines=tuple(BomLine(c, D(q), D(s[0]) if s else D(0)) for c, q, *s in lines))


def test_need_includes_scrap_and_rounds_up_to_four_places() -> None:
    assert need(D(10), BomLine("X", D(2))) == D(20)
    assert need(D(10), BomLine("X", D(2), D(5))) == D(21)
    assert need(D(3), BomLine("X", D("0.3333"), D(1))) == D("1.0099")  # 1.009899 rounded up


def test_a_cycle_at_any_depth_is_named_by_its_path() -> None:
    boms = {b.item: b for b in (bom("A", ("B", "1")), bom("B", ("C", "2")), bom("C", ("D", "1"), ("A", "1")))}
    assert find_cycle(boms) == ["A", "B", "C", "A"]
    with pytest.raises(Invalid, match="BOM cycle: A → B → C → A"):
        check_boms(boms, "ABCD")
    assert find_cycle({"A": bom("A", ("B", "1")), "B": bom("B", ("C", "1"))}) is None


def test_unknown_components_bad_quantities_and_repeats_are_refused() -> None:
    with pytest.raises(Invalid, match="no item Z"):
        check_boms({"A": bom("A", ("Z", "1"))}, "AB")
    with pytest.raises(Invalid, match="above zero"):
        check_boms({"A": bom("A", ("B", "0"))}, "AB")
    with pytest.raises(Invalid, match="scrap"):
        check_boms({"A": bom("A", ("B", "1", "100"))}, "AB")
    with pytest.raises(Invalid, match="twice"):
        check_boms({"A": bom("A", ("B", "1"), ("B", "2"))}, "AB")
    with pytest.raises(Invalid, match="its own component"):
        check_boms({"A": bom("A", ("A", "1"))}, "A")


def test_low_level_codes_are_the_deepest_level_an_item_appears_at() -> None:
    # A → B → D, A → D, C → B: D appears at level 1 (under A) and 2 (under B): its code is 2.
    boms = {b.item: b for b in (bom("A", ("B", "1"), ("D", "1")), bom("B", ("D", "2")), bom("C", ("B", "1")))}
    assert low_level_codes(boms, "ABCDE") == {"A": 0, "B": 1, "C": 0, "D": 2, "E": 0}


def test_a_deep_chain_does_not_hit_the_recursion_limit() -> None:
    chain = {f"I{i}": bom(f"I{i}", (f"I{i + 1}", "1")) for i in range(5000)}
    assert find_cycle(chain) is None
    assert low_level_codes(chain, [f"I{i}" for i in range(5001)])["I5000"] == 5000
