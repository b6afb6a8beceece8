"""Shared fixtures, shaped after temporalio/samples-python: one Temporal environment per session,
a fresh database (a SQLite file, or a PostgreSQL schema when DATABASE_URL says so) and a worker on
a fresh task queue per test, so tests never see each other's data or tasks."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from functools import cache

import pytest
import pytest_asyncio
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import create_engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain import demo
from domain.core.db import Database
from settings import venv_binary
from tests.db_templates import Templates, commits_without_flush
from worker import build_worker
from workflows.common import SEARCH_ATTRIBUTES, register_search_attributes

PG_URL = os.environ.get("DATABASE_URL", "")
USE_PG = PG_URL.startswith("postgres")
if USE_PG:
    commits_without_flush()  # synchronous_commit off, as SQLite's WAL with synchronous=NORMAL (tests/db_templates.py)

# The demo users' password ("demo") hashed with argon2id's cheapest parameters, in tests only: a login checks it by the
# same code as ever (argon2 reads the parameters from the hash) in half a millisecond of CPU instead of 0.18 s, and the
# end-to-end, attack and browser tests log in some 2,000 times a run.
demo._demo_hash = cache(lambda: Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1).hash("demo"))


def _pg_admin_url() -> str:
    url = PG_URL
    if url.startswith("postgres://"):
        url = "postgresql://" + url.split("://", 1)[1]
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


_PG_DDL: list[str] = []


def _pg_schema_ddl() -> str:
    """Every CREATE statement Base.metadata.create_all emits on PostgreSQL, in its order, captured once per session:
    a test's schema is then made in one round trip instead of one or two per table (half a second a test)."""
    if not _PG_DDL:
        import importlib

        from sqlalchemy import create_mock_engine

        from domain.core.db import Base

        importlib.import_module("domain.tables")
        mock = create_mock_engine(_pg_admin_url(), lambda sql, *_, **__: _PG_DDL.append(
            str(sql.compile(dialect=mock.dialect)).strip()))
        Base.metadata.create_all(mock, checkfirst=False)
    return ";\n".join(_PG_DDL)


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """The empty SQLite database and the demo company, made once a session and copied into each test's own
    (tests/db_templates.py)."""
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT") if USE_PG else None
    made = Templates(tmp_path_factory.mktemp("db-templates"), PG_URL, admin, _pg_schema_ddl() if USE_PG else "")
    yield made
    made.drop()
    if admin is not None:
        admin.dispose()


@pytest.fixture
def fresh_db(tmp_path, db_templates: Templates) -> Iterator[Database]:
    """An empty database with every table."""
    if USE_PG:
        assert db_templates.schemas is not None
        db = db_templates.schemas.take()  # a schema of its own: made, or emptied after an earlier test and renamed
        try:
            yield db
        finally:
            db_templates.schemas.give_back(db)  # its sessions ended; emptied for a later test, or dropped
    else:
        shutil.copyfile(db_templates.sqlite_empty(), tmp_path / "valueloop.db")  # what db.create_all() makes
        db = Database(f"sqlite:///{tmp_path}/valueloop.db")
        yield db
        db.dispose()


@pytest.fixture
def db(fresh_db: Database, db_templates: Templates) -> Database:
    """A database holding the demo company."""
    if not db_templates.copy_demo(fresh_db):  # the session's copy of what demo.load makes, when fresh_db is empty
        with fresh_db.write() as s:
            demo.load(s)
    return fresh_db


@pytest_asyncio.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server per test: one whose update was rejected by a validator no longer
    skips time (seen with temporal-test-server 1.40), so tests must not share one."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(venv_binary("temporal-test-server")),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=str(venv_binary("temporal")),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_log_level="error",
        dev_server_extra_args=["--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest_asyncio.fixture
async def worker(time_env: WorkflowEnvironment, db: Database, task_queue: str) -> AsyncIterator[Client]:
    """A worker for this test on the time-skipping server; yields the client."""
    w = build_worker(time_env.client, db, task_queue, threads=8)
    async with w:
        yield time_env.client
        await terminate_processes(time_env.client, db)


async def terminate_processes(client: Client, db: Database) -> None:
    """End what a test left running: the time-skipping server cannot skip time while workflows of
    earlier tests wait for workers that are gone."""
    from sqlalchemy import select

    from domain.processes.tables import Process

    with db.read() as s:
        ids = list(s.execute(select(Process.process_id).where(Process.status == "running")).scalars())
    for pid in ids:
        try:
            await client.get_workflow_handle(pid).terminate("test finished")
        except Exception as e:
            print("terminate", pid, e)
