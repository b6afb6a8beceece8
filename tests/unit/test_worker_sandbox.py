"""The worker passes the whole `workflows` package through Temporal's sandbox (worker.RUNNER): its modules are
imported once per process and shared by every workflow run, not re-imported per run. That is safe only while
no workflow module keeps state at module level that a run could change and the next run would see: no
`global` statement, and no module-level mutable container but the read-only tables named here."""

from __future__ import annotations

import ast
from pathlib import Path

import workflows
from worker import RUNNER

WORKFLOWS_DIR = Path(workflows.__file__).parent
# Module-level containers that are tables read by every run and written by none.
READ_ONLY = {("approval.py", "_SAFE"), ("common.py", "SEARCH_ATTRIBUTES"), ("common.py", "WORKFLOW_AREAS")}
MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "Counter", "OrderedDict", "deque", "bytearray"}


def _mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        fn = value.func
        name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
        return name in MUTABLE_CALLS
    return False


def test_the_runner_passes_the_workflows_package_through() -> None:
    assert "workflows" in RUNNER.restrictions.passthrough_modules


def test_no_workflow_module_keeps_state_a_run_could_change() -> None:
    found: set[tuple[str, str]] = set()
    globals_used: list[str] = []
    for path in sorted(WORKFLOWS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign) and _mutable(node.value):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign) and _mutable(node.value):
                targets = [node.target]
            found |= {(path.name, t.id) for t in targets if isinstance(t, ast.Name)}
        globals_used += [f"{path.name}:{n.lineno}" for n in ast.walk(tree) if isinstance(n, ast.Global)]
    assert not globals_used, f"`global` in a workflow module: {globals_used}"
    assert found <= READ_ONLY, f"module-level mutable state in workflows/: {sorted(found - READ_ONLY)}"
    assert found, "the walk found none of the known read-only tables: it no longer reads the modules"
