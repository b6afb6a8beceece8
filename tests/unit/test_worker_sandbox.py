"""The worker runs workflows without Temporal's sandbox (worker.RUNNER): the workflow modules are imported once per
process and shared by every workflow run. That is safe only while no workflow module keeps state at module level
that a run could change and the next run would see: no `global` statement, and no module-level mutable container
but the read-only tables named here. And as no sandbox watches their calls, none of them reads the host's clock,
randomness, files or environment, or sleeps: a workflow takes time and ids from `workflow.now()`,
`workflow.uuid4()`, `workflow.random()` and waits with `workflow.sleep`/timers (replayed identically)."""

from __future__ import annotations

import ast
from pathlib import Path

from temporalio.worker import UnsandboxedWorkflowRunner

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


def test_the_runner_is_unsandboxed() -> None:
    assert isinstance(RUNNER, UnsandboxedWorkflowRunner)


# What a workflow must not do (the sandbox would have refused it): call a builtin or module.attribute named here, or
# import a module named here at all.
FORBIDDEN_ATTRS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
                   ("time", "time"), ("time", "monotonic"), ("time", "perf_counter"), ("time", "sleep"),
                   ("uuid", "uuid1"), ("uuid", "uuid4"), ("asyncio", "sleep"), ("threading", "Thread")}
FORBIDDEN_MODULES = {"random", "secrets", "socket", "subprocess", "requests", "httpx", "sqlalchemy", "pathlib", "os"}
FORBIDDEN_BUILTINS = {"open", "input", "exec", "eval"}


def _violations(source: str, name: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=name)):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            fn = node.func
            if isinstance(fn, ast.Name) and fn.id in FORBIDDEN_BUILTINS:
                found.append(f"{where} {fn.id}()")
            elif isinstance(fn, ast.Attribute):
                base = fn.value
                owner = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
                if (owner, fn.attr) in FORBIDDEN_ATTRS:
                    found.append(f"{where} {owner}.{fn.attr}()")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{where} import {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
    return found


def test_no_workflow_module_reads_the_clock_randomness_io_or_the_environment() -> None:
    found = [v for path in sorted(WORKFLOWS_DIR.glob("*.py")) for v in _violations(path.read_text(), path.name)]
    assert not found, f"a workflow reads the host (use workflow.now/uuid4/random/sleep): {found}"


def test_the_guard_sees_what_it_forbids() -> None:
    """The walk above must catch each kind it names, or it proves nothing."""
    for source, bad in (("datetime.now()", True), ("datetime.datetime.utcnow()", True), ("time.sleep(1)", True),
                        ("import random", True), ("from os import environ", True), ("open('x')", True),
                        ("uuid.uuid4()", True), ("workflow.now()", False), ("workflow.uuid4()", False),
                        ("self.open_task()", False), ("requests.append(1)", False), ("import datetime", False)):
        assert bool(_violations(source, "probe.py")) == bad, source


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
