"""The worker's settings reach it: concurrency limits and task queue from Settings, the Temporal SDK's
Prometheus metrics on `metrics_bind_address`, OpenTelemetry tracing when `otel_endpoint` is set."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from api.platform import Platform
from api.starters import expense_claim
from domain.core.db import Database
from settings import Settings
from tests.conftest import terminate_processes
from tests.helpers import claim_lines, open_task_for
from worker import build_worker, connect, interceptors, worker_from_settings


def _settings(env: WorkflowEnvironment, **kw: object) -> Settings:
    target = env.client.service_client.config.target_host
    return Settings(_env_file=None, temporal_address=target, **kw)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tuning_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAX_CONCURRENT_ACTIVITIES", "48")
    monkeypatch.setenv("MAX_CONCURRENT_WORKFLOW_TASKS", "12")
    monkeypatch.setenv("TASK_QUEUE", "valueloop-eu")
    monkeypatch.setenv("METRICS_BIND_ADDRESS", "0.0.0.0:9464")
    monkeypatch.setenv("OTEL_ENDPOINT", "http://collector:4318")
    s = Settings(_env_file=None)
    assert (s.max_concurrent_activities, s.max_concurrent_workflow_tasks, s.task_queue) == (48, 12, "valueloop-eu")
    assert (s.metrics_bind_address, s.otel_endpoint) == ("0.0.0.0:9464", "http://collector:4318")
    monkeypatch.setenv("MAX_CONCURRENT_ACTIVITIES", "-1")
    with pytest.raises(ValueError):
        Settings(_env_file=None)


async def test_build_worker_gets_the_tuning(time_env: WorkflowEnvironment, fresh_db: Database):
    s = Settings(_env_file=None, task_queue="tq-tuned", activity_threads=8, max_concurrent_activities=20,
                 max_concurrent_workflow_tasks=7)
    w = worker_from_settings(time_env.client, fresh_db, s)
    config = w.config()
    assert w.task_queue == "tq-tuned"
    assert config["max_concurrent_activities"] == 20
    assert config["max_concurrent_workflow_tasks"] == 7
    executor = config["activity_executor"]
    assert executor is not None and executor._max_workers == 20  # type: ignore[attr-defined] # no slot waits on a thread


async def test_zero_means_the_defaults(time_env: WorkflowEnvironment, fresh_db: Database):
    w = worker_from_settings(time_env.client, fresh_db, Settings(_env_file=None, activity_threads=6))
    config = w.config()
    assert w.task_queue == "valueloop"
    assert config["max_concurrent_activities"] == 6
    assert config["max_concurrent_workflow_tasks"] is None  # the SDK's own default
    assert config["activity_executor"]._max_workers == 6  # type: ignore[union-attr]
    w = build_worker(time_env.client, fresh_db, "tq", threads=16, max_concurrent_activities=4)
    assert w.config()["max_concurrent_activities"] == 4
    assert w.config()["activity_executor"]._max_workers == 16  # type: ignore[union-attr]


async def test_no_tracing_without_an_endpoint(time_env: WorkflowEnvironment):
    s = _settings(time_env)
    assert interceptors(s) == []
    client = await connect(s)
    assert client.config()["interceptors"] == []
    assert client.service_client.config.runtime is None  # no metrics runtime without sdk_metrics


async def test_tracing_interceptor_with_an_endpoint(time_env: WorkflowEnvironment):
    s = _settings(time_env, otel_endpoint="http://127.0.0.1:1/", otel_service_name="valueloop-test")
    client = await connect(s)  # no collector needed: spans are exported in batches, in the background
    assert [type(i) for i in client.config()["interceptors"]] == [TracingInterceptor]
    provider = worker_module.tracer_provider(s)
    assert provider is worker_module.tracer_provider(s)  # one per process
    assert provider.resource.attributes["service.name"] == "valueloop-test"
    exporter = provider._active_span_processor._span_processors[0].span_exporter  # type: ignore[attr-defined]
    assert exporter._endpoint == "http://127.0.0.1:1/v1/traces"


async def test_a_workflow_run_is_traced(time_env: WorkflowEnvironment, db: Database, task_queue: str):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    config = time_env.client.config()
    config["interceptors"] = interceptors(_settings(time_env), provider)
    client = Client(**config)
    async with build_worker(client, db, task_queue, threads=4):  # the client's interceptor reaches the worker
        p = Platform(client, db, task_queue, id_prefix=f"{task_queue}/")
        number = (await expense_claim.submit(p, "erin", claim_lines("120")))["claim_id"]
        await open_task_for(db, number)  # the claim's workflow ran activities and started its approval
        for _ in range(100):
            names = {s.name for s in exporter.get_finished_spans()}
            if {"RunWorkflow:ExpenseClaim", "RunWorkflow:Approval"} <= names:
                break
            await asyncio.sleep(0.05)
        await terminate_processes(client, db)
    spans = exporter.get_finished_spans()
    names = {s.name for s in spans}
    # a submit starts its process by update-with-start (api.platform.Platform.start_and_update)
    assert {"StartUpdateWithStartWorkflow:ExpenseClaim", "HandleUpdate:recorded_state", "RunWorkflow:ExpenseClaim",
            "StartChildWorkflow:Approval", "RunWorkflow:Approval"} <= names
    assert any(n.startswith("RunActivity:") for n in names)
    start = next(s for s in spans if s.name == "StartUpdateWithStartWorkflow:ExpenseClaim")
    assert start.context is not None
    traced = [s for s in spans if s.context is not None and s.context.trace_id == start.context.trace_id]
    assert {"RunWorkflow:ExpenseClaim", "RunWorkflow:Approval"} <= {s.name for s in traced}  # one trace


async def test_sdk_metrics_are_served_on_the_bind_address(time_env: WorkflowEnvironment, fresh_db: Database,
                                                          task_queue: str):
    port = _free_port()
    s = _settings(time_env, metrics_bind_address=f"127.0.0.1:{port}")
    client = await connect(s, sdk_metrics=True)
    assert client.service_client.config.runtime is worker_module.metrics_runtime(s)  # one per process
    async with build_worker(client, fresh_db, task_queue, threads=2):
        await asyncio.sleep(0.5)  # pollers start, the core records its slots and polls
        async with httpx.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert r.status_code == 200
    assert "temporal_" in r.text
    assert f'task_queue="{task_queue}"' in r.text


async def test_valueloop_worker_runs_on_the_settings(time_env: WorkflowEnvironment, db: Database, task_queue: str):
    """worker.main (what `valueloop worker` runs): the queue and the metrics port of the settings."""
    import signal

    if db.schema:  # PostgreSQL per-test schema: main opens its own Database on the URL alone
        pytest.skip("main() opens DATABASE_URL without the test's schema")
    port = _free_port()
    s = _settings(time_env, database_url=db.url, task_queue=task_queue, metrics_bind_address=f"127.0.0.1:{port}")
    run = asyncio.create_task(worker_module.main(s))
    try:
        text = ""
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                except httpx.HTTPError:
                    text = ""
                if f'task_queue="{task_queue}"' in text:
                    break
                await asyncio.sleep(0.1)
        assert f'task_queue="{task_queue}"' in text
        p = Platform(time_env.client, db, task_queue, id_prefix=f"{task_queue}/")
        number = (await expense_claim.submit(p, "erin", claim_lines("90")))["claim_id"]
        await open_task_for(db, number)  # the worker started by main ran the workflow and its activities
        await terminate_processes(time_env.client, db)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
