"""The multi-machine deployment, checked by reading it (no docker here): docker-compose.yml wires the
services with pinned images, health checks and start order; every app service runs the one image
whose ENTRYPOINT is `valueloop`, with commands and options the CLI really has and environment
variables that settings.Settings really reads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from sqlalchemy.engine import make_url

import cli
from settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
APP_SERVICES = ("migrate", "api", "worker")
VAR = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def resolve(value: object, env: dict[str, str] | None = None) -> str:
    """Compose's interpolation: ${X:-default} → default, ${X:?message} → env[X] (required)."""
    env = env or {}

    def sub(m: re.Match[str]) -> str:
        name, op = m["name"], m["op"] or ""
        if name in env:
            return env[name]
        if op.endswith("?"):
            raise KeyError(f"{name} is required: {m['arg']}")
        return m["arg"] if op.endswith("-") else ""

    return VAR.sub(sub, str(value))


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def cli_commands() -> dict[str, Any]:
    """The typer app's registered commands, by name (typer's click commands)."""
    return dict(typer.main.get_command(cli.app).commands)  # type: ignore[attr-defined]


def command_of(service: str) -> list[str]:
    command = SERVICES[service].get("command")
    if command is None:
        return json.loads(dict(dockerfile())["CMD"])
    return command if isinstance(command, list) else command.split()


def test_every_service_is_there():
    assert {"postgresql", "temporal", "temporal-ui", "migrate", "api", "worker"} <= set(SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_images_are_pinned(service):
    image = resolve(SERVICES[service]["image"])
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{service}: {image} has no tag"
    assert tag not in ("", "latest") and re.search(r"\d", tag), f"{service}: {image} is not pinned"


def test_third_party_images():
    assert resolve(SERVICES["postgresql"]["image"]).startswith("postgres:16")
    assert resolve(SERVICES["temporal"]["image"]).startswith("temporalio/auto-setup:")
    assert resolve(SERVICES["temporal-ui"]["image"]).startswith("temporalio/ui:")


@pytest.mark.parametrize("service", ["postgresql", "temporal", "api"])
def test_health_checks(service):
    test = SERVICES[service]["healthcheck"]["test"]
    text = " ".join(test) if isinstance(test, list) else test
    expected = {"postgresql": "pg_isready", "temporal": "temporal operator cluster health", "api": "/healthz"}
    assert expected[service] in text
    if service == "api":  # it asks the port the API listens on
        port = command_of("api")[command_of("api").index("--port") + 1]
        assert f"127.0.0.1:{port}/healthz" in text


def _depends(service: str) -> dict[str, str]:
    deps = SERVICES[service].get("depends_on", {})
    assert isinstance(deps, dict), f"{service}: depends_on needs conditions, not a list"
    return {name: d["condition"] for name, d in deps.items()}


def test_start_order():
    assert _depends("temporal") == {"postgresql": "service_healthy"}
    assert _depends("migrate") == {"postgresql": "service_healthy"}
    for service in ("api", "worker"):
        deps = _depends(service)
        assert deps["migrate"] == "service_completed_successfully"
        assert deps["temporal"] == "service_healthy"
    assert _depends("temporal-ui")["temporal"] == "service_healthy"
    assert SERVICES["migrate"]["restart"] == "no"  # one-shot, else completed_successfully never comes


def test_two_replicas_of_api_and_worker():
    for service in ("api", "worker"):
        assert SERVICES[service]["deploy"]["replicas"] == 2
        assert "container_name" not in SERVICES[service]  # a fixed name allows one container only
        ports = SERVICES[service].get("ports", [])
        assert not ports, f"{service}: replicas cannot share a published host port"


def test_app_services_run_one_image():
    images = {resolve(SERVICES[s]["image"]) for s in APP_SERVICES}
    builds = {json.dumps(SERVICES[s].get("build"), sort_keys=True) for s in APP_SERVICES}
    assert len(images) == 1 and len(builds) == 1
    build = SERVICES["api"]["build"]
    context = build if isinstance(build, str) else build["context"]
    assert (ROOT / context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
            ).resolve() == ROOT / "Dockerfile"


def test_app_environment():
    for service in ("api", "worker"):
        env = environment(service)
        assert {"DATABASE_URL", "TEMPORAL_ADDRESS"} <= set(env), service
        assert resolve(env["TEMPORAL_ADDRESS"]) == "temporal:7233"
    assert "DATABASE_URL" in environment("migrate")
    assert VAR.fullmatch(environment("api")["SECRET_KEY"])["op"] == ":?"  # required, no default
    with pytest.raises(KeyError):
        resolve(environment("api")["SECRET_KEY"])
    assert "SECRET_KEY" not in environment("worker")  # it signs nothing
    urls = {resolve(environment(s)["DATABASE_URL"]) for s in APP_SERVICES}
    assert len(urls) == 1


def test_database_url_points_at_the_apps_own_database():
    pg = environment("postgresql")
    url = make_url(resolve(environment("api")["DATABASE_URL"]))
    assert url.drivername == "postgresql"  # domain.db turns it into postgresql+psycopg
    assert (url.host, url.port) == ("postgresql", 5432)
    assert url.username == resolve(pg["POSTGRES_USER"]) and url.password == resolve(pg["POSTGRES_PASSWORD"])
    assert url.database == resolve(pg["POSTGRES_DB"])
    # Temporal keeps its own databases (temporal, temporal_visibility) on the same server
    assert url.database not in ("temporal", "temporal_visibility", "postgres")
    temporal = environment("temporal")
    assert temporal["DB"] == "postgres12" and temporal["POSTGRES_SEEDS"] == "postgresql"
    assert temporal["DB_PORT"] == "5432"
    assert resolve(temporal["POSTGRES_USER"]) == url.username and resolve(temporal["POSTGRES_PWD"]) == url.password


@pytest.mark.parametrize("service", APP_SERVICES)
def test_environment_maps_to_settings(service):
    env = {k: resolve(v, {"VALUELOOP_SECRET_KEY": "x" * 32}) for k, v in environment(service).items()}
    unknown = {k for k in env if k.lower() not in Settings.model_fields}
    assert not unknown, f"{service}: {unknown} are not settings (pydantic-settings would ignore them)"
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # values of the right type
    assert settings.database_url.startswith("postgresql://")


def test_worker_environment_tunes_the_worker():
    env = {k: resolve(v) for k, v in environment("worker").items()}
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
    assert settings.metrics_bind_address.endswith(":9464")
    assert "9464" in [str(p) for p in SERVICES["worker"].get("expose", [])]
    assert settings.task_queue == Settings(_env_file=None, **{
        k.lower(): resolve(v, {"VALUELOOP_SECRET_KEY": "x" * 32}) for k, v in environment("api").items()}).task_queue


def test_area_queues_are_off_by_default_and_switched_for_api_and_workers_alike():
    def settings(service: str, env: dict[str, str]) -> Settings:
        values = {k: resolve(v, {"VALUELOOP_SECRET_KEY": "x" * 32, **env})
                  for k, v in environment(service).items()}
        return Settings(_env_file=None, **{k.lower(): v for k, v in values.items()})

    assert not settings("api", {}).area_queues and not settings("worker", {}).area_queues
    assert settings("worker", {}).worker_areas == "all"
    split = {"AREA_QUEUES": "true", "WORKER_AREAS": "expenses,purchasing,sales"}
    assert settings("api", split).area_queues and settings("worker", split).area_queues
    assert settings("worker", split).polled_areas == ("expenses", "purchasing", "sales")


def test_dockerfile_runs_valueloop_as_a_user():
    instructions = dockerfile()
    froms = [args for word, args in instructions if word == "FROM"]
    assert froms and all(f.split()[0] == "python:3.12-slim" for f in froms)
    final = instructions[max(i for i, (w, _) in enumerate(instructions) if w == "FROM"):]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    last = dict(final)
    assert json.loads(last["ENTRYPOINT"]) == ["valueloop"]
    assert json.loads(last["CMD"]) == ["api"]
    installs = " ".join(args for word, args in instructions if word == "RUN")
    assert "pip install ." in installs and "[dev]" not in installs


def test_dockerfile_copies_what_the_package_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    tool = project["tool"]["setuptools"]
    needed = {p.split(".")[0] for p in tool["packages"]} | {f"{m}.py" for m in tool["py-modules"]}
    needed |= {"pyproject.toml", project["project"]["readme"]}
    copied: set[str] = set()
    for word, args in dockerfile():
        if word == "COPY" and "--from" not in args:
            copied |= {Path(src).name for src in args.split()[:-1]}
    assert needed <= copied, needed - copied
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not needed & ignored
    assert {".env", ".git", ".venv", "var"} <= ignored  # secrets and local state stay out of the image


@pytest.mark.parametrize("service", APP_SERVICES)
def test_commands_are_real_cli_commands(service):
    args = command_of(service)
    commands = cli_commands()
    assert args[0] in commands
    assert args[0] == {"migrate": "migrate", "api": "api", "worker": "worker"}[service]
    commands[args[0]].make_context(args[0], list(args[1:]))  # raises on an option the command lacks
    with pytest.raises(Exception, match="--no-such-option"):
        commands[args[0]].make_context(args[0], ["--no-such-option"])


def test_default_command_is_real():
    assert json.loads(dict(dockerfile())["CMD"])[0] in cli_commands()


def test_proxy_reaches_the_api_replicas():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    port = command_of("api")[command_of("api").index("--port") + 1]
    assert re.search(rf"upstream api \{{[^}}]*\bserver api:{port} resolve;", conf)  # every replica, re-resolved
    assert "proxy_pass http://api;" in conf
    assert "resolver 127.0.0.11" in conf  # re-resolved: every replica, also after a scale or restart
    mounts = SERVICES["proxy"]["volumes"]
    assert any(m.startswith("./deploy/nginx.conf:") for m in mounts)
    assert _depends("proxy") == {"api": "service_healthy"}


def test_no_console_without_a_login_on_every_interface():
    """The Temporal UI has no login: it is published on the host's loopback only and cannot change processes;
    every port but the proxy's (which the API's own auth guards) is bound to 127.0.0.1."""
    ui = SERVICES["temporal-ui"]
    assert environment("temporal-ui").get("TEMPORAL_DISABLE_WRITE_ACTIONS") == "true"
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            published = resolve(port)
            if name == "proxy":
                continue
            assert published.startswith("127.0.0.1:"), (name, published)
    assert ui.get("ports")


def test_temporal_ui_ports_are_loopback_only_and_not_behind_the_proxy():
    """Every published port of the Temporal UI (and the server) names 127.0.0.1 (no bare "8080:8080", which Docker
    binds on every interface), and the proxy the public reaches does not forward to it."""
    for name in ("temporal-ui", "temporal"):
        for port in SERVICES[name].get("ports", []):
            published = resolve(port) if isinstance(port, str) else str(port.get("host_ip", ""))
            assert published.startswith("127.0.0.1"), (name, published)
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "temporal" not in conf and ":8080" not in conf


def test_valueloop_up_binds_the_temporal_dev_server_and_its_ui_to_loopback(tmp_path):
    """`valueloop up` starts `temporal server start-dev` with its front end and its web UI on 127.0.0.1 only."""
    cmd = cli.temporal_command(7233, 8233, tmp_path / "t.db")
    assert cmd[cmd.index("--ip") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--ui-ip") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--ui-port") + 1] == "8233"


def test_metrics_token_reaches_the_api():
    assert "METRICS_TOKEN" in environment("api")
    assert "metrics_token" in Settings.model_fields
