"""domain.permissions: the one table of who may do what, and the guard that keeps role names out of the code
that asks it (workflows, activities, the API and its templates)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from domain import permissions
from domain.core.errors import Forbidden
from domain.demo import ROLES, USERS
from domain.permissions import DEFAULT_DUTIES, DEFAULT_GRANTS, Action, Duty

ROOT = Path(__file__).resolve().parents[2]


def test_every_action_has_a_grant_and_every_grant_an_action():
    assert set(DEFAULT_GRANTS) == set(Action)
    assert set(DEFAULT_DUTIES) == set(Duty)


def test_every_role_in_the_table_is_a_role_the_reference_data_knows():
    unknown = {(str(a), r) for a, roles in DEFAULT_GRANTS.items() for r in roles if r not in ROLES}
    unknown |= {(str(d), r) for d, r in DEFAULT_DUTIES.items() if r not in ROLES}
    assert unknown == set()


def test_every_action_is_held_by_someone_and_named_context_dot_verb():
    assert [a for a, roles in DEFAULT_GRANTS.items() if not roles] == []
    assert [a for a in Action if not re.fullmatch(r"[a-z_]+\.[a-z_]+", a.value)] == []


def test_the_fallback_user_is_a_user_of_the_reference_data():
    assert permissions.FALLBACK_USER in {u[0] for u in USERS}


def test_may_asks_the_table():
    assert permissions.may({"finance"}, Action.EXPENSE_PAY)
    assert permissions.may(["employee", "finance"], "expense.pay")  # the plain name, as templates pass it
    assert not permissions.may({"admin"}, Action.EXPENSE_PAY)  # admin holds only what the table gives it
    assert not permissions.may(set(), Action.LEDGER_READ)
    assert not permissions.may({"admin"}, "no.such_action")


def test_check_raises_forbidden_with_the_callers_sentence():
    permissions.check({"warehouse"}, Action.PURCHASE_RECEIVE, "unused")
    with pytest.raises(Forbidden, match=r"^only finance can pay a claim$"):
        permissions.check({"cfo", "manager"}, Action.EXPENSE_PAY, "only finance can pay a claim")


def test_today_s_rules_are_kept():
    """A few rows pinned, so a change to who may do what is a deliberate edit of the table and this test."""
    assert DEFAULT_GRANTS[Action.EXPENSE_PAY] == {"finance"}
    assert DEFAULT_GRANTS[Action.PURCHASE_RECEIVE] == {"warehouse", "buyer", "admin"}
    assert DEFAULT_GRANTS[Action.PRODUCTION_REPORT] == {"planner", "warehouse", "admin"}
    assert DEFAULT_GRANTS[Action.SALES_ORDER_DELIVER] == {"warehouse", "admin"}
    assert DEFAULT_GRANTS[Action.QUOTATION_CREATE] == DEFAULT_GRANTS[Action.SALES_ORDER_CREATE] == {
        "sales", "sales_manager", "admin"}
    assert DEFAULT_DUTIES[Duty.PURCHASE_OVERDUE] == "buyer"


# --- no role name outside the table ------------------------------------------------------------------------

def _not_a_role(node: ast.Constant, parents: dict[ast.AST, ast.AST], where: str) -> bool:
    """The same word used for something that is not a role: a page's nav section or an OpenAPI tag (keyword
    section= / tags=), a person's manager (the dict key "manager"), or an area's task queue (workflows/common.py
    AREAS and WORKFLOW_AREAS: "sales" is where the sales processes run)."""
    up = parents.get(node)
    if isinstance(up, ast.List):
        up = parents.get(up)
    if isinstance(up, ast.keyword) and up.arg in ("section", "tags"):
        return True
    if isinstance(up, ast.Dict) and node in up.keys:
        return True  # a field's name (a person's "manager", a production order's "planner")
    if where in ("domain/approvals/rules.py", "domain/forms/rules.py") and node.value == "manager":
        return True  # the step kind (approver) "the requester's manager", which names a relation, not the role
    while up is not None and not isinstance(up, ast.AnnAssign | ast.Assign):
        up = parents.get(up)
    return (where == "workflows/common.py" and isinstance(up, ast.AnnAssign) and isinstance(up.target, ast.Name)
            and up.target.id in ("AREAS", "WORKFLOW_AREAS"))


# Where role names live: the table itself, the demo company, and the migrations that seeded roles.
ROLE_HOMES = ("domain/permissions.py", "domain/demo.py", "domain/migrations/")


def _role_literals(folder: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        where = path.relative_to(root).as_posix()
        if where.startswith(ROLE_HOMES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ROLES \
                    and not _not_a_role(node, parents, where):
                found.append((where, node.lineno, node.col_offset, node.value))
    return [f"{where}:{line}: {value!r}" for where, line, _, value in sorted(found)]


@pytest.mark.parametrize("folder", ["workflows", "activities", "api", "domain"])
def test_no_role_name_literal_in_the_code_that_asks_the_table(folder):
    """Who may do what is domain.permissions' data: code names an action, never a role."""
    assert _role_literals(folder) == []


def test_the_guard_finds_a_role_literal(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "m.py").write_text('ok = user.has("admin") or {"sales_manager"} & roles\n'
                                         'page(section="sales", tags=["sales"], row={"manager": 1})\n'
                                         'AREAS = ("sales",)\n')
    assert _role_literals("x", tmp_path) == ["x/m.py:1: 'admin'", "x/m.py:1: 'sales_manager'", "x/m.py:3: 'sales'"]


TEMPLATES = ROOT / "api" / "templates"


def test_templates_ask_may_and_name_no_role():
    """Templates show a link or button by `may("action")`, never by a list of roles; each action they name
    exists (pages.render's may() refuses an unknown one too, so a typo cannot hide a button silently)."""
    roles = "|".join(sorted(ROLES, key=len, reverse=True))
    literal = re.compile(rf"""["']({roles})["']""")
    section = re.compile(r"""section\s*==\s*["']\w+["']""")
    named, wrong = set(), []
    for path in sorted(TEMPLATES.glob("*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if literal.search(section.sub("", line)) or re.search(r"roles\s*\|\s*select|\.has\(", line):
                wrong.append(f"{path.name}:{n}: {line.strip()}")
            named |= set(re.findall(r"""may\(\s*["']([^"']+)["']\s*\)""", line))
    assert wrong == []
    assert named and named <= {a.value for a in Action}, named - {a.value for a in Action}
