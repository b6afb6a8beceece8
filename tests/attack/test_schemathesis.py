"""Property-based fuzzing of every operation in the app's own OpenAPI schema (schemathesis), as admin:
no 5xx, and every answer matches what the schema documents for it.

The app is served in this process by uvicorn on the test's event loop (its Temporal client lives there);
schemathesis drives it from a worker thread, so the loop keeps serving while the thread waits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

pytestmark = pytest.mark.e2e

EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}
# Operations not fuzzed: logout would end the session every later operation is fuzzed with (tests/attack/
# test_sessions.py replays logged-out tokens instead).
NOT_FUZZED = {("POST", "/api/auth/logout")}


def _fuzz(schema: Any, base_url: str, token: str) -> tuple[list[str], int]:
    failures: list[str] = []
    calls = 0
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in NOT_FUZZED:
            continue
        for mode, n in EXAMPLES.items():
            @settings(max_examples=n, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:  # called at once below: op and mode are this iteration's
                nonlocal calls
                if case.query and "wait" in case.query:
                    case.query["wait"] = 0  # long polls would hold each example for up to 30 s
                try:
                    response = case.call(base_url=base_url, session=session, timeout=30)
                except (requests.exceptions.InvalidHeader, ValueError, UnicodeError):
                    return  # the client itself refused to send it: nothing reached the app
                calls += 1
                checks = [not_a_server_error, content_type_conformance, response_schema_conformance]
                try:
                    case.validate_response(response, checks=checks)
                except (Exception, BaseExceptionGroup) as e:
                    failures.append(f"{op.method.upper()} {op.path} [{mode.value}] -> "  # noqa: B023
                                    f"{response.status_code}: "
                                    f"{str(e)[:600]}\n  {case.as_curl_command()[:600]}")
                    return
                if response.status_code == 422:
                    detail = response.json().get("detail")
                    if not (isinstance(detail, str) and detail):
                        failures.append(f"{op.path}: 422 without a sentence: {response.text}")  # noqa: B023

            try:
                run()
            except Unsatisfiable:  # nothing to break in this operation (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, op.path
    return failures, calls


async def test_schemathesis_finds_no_server_errors_and_no_schema_violations(stack):
    openapi = (await stack.http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(openapi)
    token = (await stack.login("admin"))["Authorization"].split()[1]
    failures, calls = await asyncio.to_thread(_fuzz, schema, stack.base_url, token)
    assert calls > 500, calls  # it really ran
    assert failures == [], "\n".join(failures[:30])


async def test_documented_422_matches_the_answer(stack):
    openapi = (await stack.http.get("/openapi.json")).json()
    documented = openapi["components"]["schemas"]["HTTPValidationError"]["properties"]["detail"]
    r = await stack.as_("admin", "POST", "/api/customers", json={"name": ""})
    assert r.status_code == 422
    assert documented.get("type") == type(r.json()["detail"]).__name__.replace("str", "string")
