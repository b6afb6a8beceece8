"""Workflow code generations (workflows.common.GENERATION, RETIRED_PATCHES): a process started now takes the patches
retired at its generation without a marker (no MARKER_RECORDED, no TemporalChangeVersion upsert in its history,
the patched behaviour all the same), one started before (generation 0) asks workflow.patched as it always did, and
the histories of both replay. The recorded histories of earlier code replay in tests/workflows/test_replay.py."""

from __future__ import annotations

import ast
import json
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from api.platform import Platform
from api.starters import expense_claim
from api.starters import purchase as purchase_starter
from domain.core.db import Database
from domain.processes import ids
from domain.purchasing.rules import ReceiptLineIn
from tests.helpers import actor, approve_chain, claim_lines, eventually
from tests.workflows.test_purchase import SKU, ordered, submit
from tests.workflows.test_replay import WORKFLOWS
from workflows import common

WORKFLOW_DIR = Path(common.__file__).parent


async def _histories(client: Client, *workflow_ids: str) -> list[WorkflowHistory]:
    return [await client.get_workflow_handle(wid).fetch_history() for wid in workflow_ids]


def _markers_and_versions(history: WorkflowHistory) -> tuple[list[str], list[str]]:
    """The patch ids of the history's markers, and the TemporalChangeVersion upserts' values."""
    markers, versions = [], []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            markers.append(json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"])
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            if "TemporalChangeVersion" in fields:
                versions.append(str(pydantic_data_converter.payload_converter.from_payload(
                    fields["TemporalChangeVersion"])))
    return markers, versions


def _activities(history: WorkflowHistory) -> list[str]:
    return [e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]


async def _replays(*histories: WorkflowHistory) -> None:
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    for h in histories:
        assert (await replayer.replay_workflow(h)).replay_failure is None


async def _paid_claim(p: Platform, db: Database) -> tuple[str, str]:
    number = (await expense_claim.submit(p, "erin", claim_lines("300")))["claim_id"]
    await approve_chain(p, db, number, ["frank"])
    assert await expense_claim.pay(p, actor(db, "grace"), number) == "paid"
    wf = ids.expense_claim(number, p.id_prefix)
    await p.client.get_workflow_handle(wf).result()
    return wf, ids.approval(wf)


async def test_a_claim_of_this_generation_takes_its_patches_without_markers(worker: Client, db: Database,
                                                                            task_queue: str) -> None:
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    claim, approval = await _histories(worker, *await _paid_claim(p, db))
    assert _markers_and_versions(claim) == ([], []) and _markers_and_versions(approval) == ([], [])
    # The patched behaviour all the same: finance's Pay task (pay-task), the named approver's deputy asked
    # (out-of-office).
    assert _activities(claim).count("open_task") == 1 and "close_open_tasks" in _activities(claim)
    assert "route_to_deputy" in _activities(approval)
    await _replays(claim, approval)


async def test_a_claim_of_generation_0_still_asks_for_its_patches(worker: Client, db: Database, task_queue: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """As a process started before generations runs on: its input has no generation, so it records the markers."""
    monkeypatch.setattr(common, "GENERATION", 0)  # what this_generation stamps, for the claim and its approval
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    claim, approval = await _histories(worker, *await _paid_claim(p, db))
    assert _markers_and_versions(claim) == (["pay-task"], ["['pay-task']"])
    assert _markers_and_versions(approval) == (["out-of-office"], ["['out-of-office']"])
    assert _activities(claim).count("open_task") == 1 and "route_to_deputy" in _activities(approval)
    await _replays(claim, approval)


async def test_a_requisition_of_this_generation_is_received_without_markers(worker: Client, db: Database,
                                                                              task_queue: str) -> None:
    p = Platform(worker, db, task_queue, id_prefix=f"{task_queue}/")
    number = await submit(p, "10")
    await approve_chain(p, db, number, ["frank"])
    po_number = (await eventually(db, ordered(number)))["purchase_order_id"]
    state = await purchase_starter.receive(p, actor(db, "ivan"), po_number, [ReceiptLineIn(sku=SKU, qty=Decimal(10))])
    assert state.status == "received"  # receipts in turn (receipts-in-turn) took it
    wf = ids.purchase(number, p.id_prefix)
    await worker.get_workflow_handle(wf).result()
    history, approval = await _histories(worker, wf, ids.approval(wf))
    assert _markers_and_versions(history) == ([], []) and _markers_and_versions(approval) == ([], [])
    assert "receive_goods" in _activities(history)
    await _replays(history, approval)


def test_every_retired_patch_is_asked_through_the_generation() -> None:
    """Each retired patch id is one a workflow asks for, and no workflow asks workflow.patched for it directly
    (it would record the marker in every new execution again)."""
    asked: dict[str, list[str]] = {}
    constants: dict[str, str] = {}
    for path in WORKFLOW_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                    isinstance(node.value.value, str) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                constants[node.targets[0].id] = node.value.value
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                how = "workflow.patched" if isinstance(f, ast.Attribute) and name == "patched" else \
                    "generation" if name == "patched" else None
                if how is None:
                    continue
                arg = node.args[0]
                pid = arg.value if isinstance(arg, ast.Constant) else constants.get(getattr(arg, "id", ""), "?")
                asked.setdefault(pid, []).append(f"{path.name}:{how}")
    for pid in common.RETIRED_PATCHES:
        assert pid in asked, f"{pid} is retired but no workflow asks for it"
        direct = [w for w in asked[pid] if w.endswith("workflow.patched") and not w.startswith("common.py")]
        assert not direct, f"{pid} is asked of workflow.patched directly: {direct}"
