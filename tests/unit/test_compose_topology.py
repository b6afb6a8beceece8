"""docker-compose.yml has the topology bench/scale_soak.py runs and kills on this machine: PostgreSQL, one Temporal
server, two API replicas behind nginx (deploy/nginx.conf, the file the bench runs too) and two workers with the
same settings, each a setting settings.py reads, and health checks where compose waits on a service."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench import scale_soak
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
NGINX = (ROOT / "deploy" / "nginx.conf").read_text()
VAR = re.compile(r"\$\{(?P<name>\w+)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}")
SECRET = {"VALUELOOP_SECRET_KEY": "k" * 32}


def resolve(value: object, env: dict[str, str] | None = None) -> str:
    """Compose's interpolation of ${X:-default} and ${X:?required} (`env` the shell's variables)."""
    env = env or {}

    def sub(m: re.Match[str]) -> str:
        if m["name"] in env:
            return env[m["name"]]
        if m["op"] == "?":
            raise KeyError(m["name"])
        return m["arg"] or ""

    return VAR.sub(sub, str(value))


def environment(service: str, shell: dict[str, str] | None = None) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: resolve(v, {**SECRET, **(shell or {})}) for k, v in env.items()}


def settings_of(service: str, shell: dict[str, str] | None = None) -> Settings:
    values: dict[str, Any] = {k.lower(): v for k, v in environment(service, shell).items()}
    return Settings(_env_file=None, **values)


def replicas(service: str) -> int:
    return int(SERVICES[service].get("deploy", {}).get("replicas", 1))


def image(service: str) -> str:
    return resolve(SERVICES[service].get("image", ""))


def by_image(prefix: str) -> list[str]:
    return [name for name in SERVICES if image(name).startswith(prefix)]


def command(service: str) -> list[str]:
    c = SERVICES[service].get("command", [])
    return c if isinstance(c, list) else c.split()


def test_the_soak_topology_is_the_compose_topology() -> None:
    """One PostgreSQL, one Temporal server, nginx, and as many API and worker replicas as the soak runs."""
    assert len(by_image("postgres:")) == 1
    assert len(by_image("temporalio/auto-setup:")) == 1
    [proxy] = by_image("nginx:")
    assert proxy == "proxy"
    apis = [s for s in SERVICES if command(s)[:1] == list(scale_soak.API_COMMAND)]
    workers = [s for s in SERVICES if command(s)[:1] == list(scale_soak.WORKER_COMMAND)]
    assert apis == ["api"] and workers == ["worker"]
    assert replicas("api") == scale_soak.APIS == 2
    assert replicas("worker") == scale_soak.WORKERS == 2


@pytest.mark.parametrize("service", ["migrate", "api", "worker"])
def test_every_variable_is_a_setting(service: str) -> None:
    """pydantic-settings ignores a variable that names no field: each one compose sets is read, with its type."""
    env = environment(service)
    assert {k for k in env if k.lower() not in Settings.model_fields} == set()
    settings_of(service)  # each value parses


@pytest.mark.parametrize("service", ["api", "worker"])
def test_compose_sets_what_the_soak_sets(service: str) -> None:
    """Every variable the soak gives its API and worker processes, compose gives its replicas, and with the soak's
    values switched on (area queues) both services agree on queue, namespace and areas."""
    soak = scale_soak.app_environment(service, "postgresql://u@h/db", "t:7233", "valueloop", "k" * 32, Path("/x"))
    assert {k for k in soak if k.lower() not in Settings.model_fields} == set()
    compose = environment(service)
    missing = {k for k in soak if k not in compose and k not in ("OTEL_ENDPOINT", "METRICS_BIND_ADDRESS")}
    assert missing == set(), f"{service}: the soak sets {missing}, compose does not"
    on = settings_of(service, {"AREA_QUEUES": "true"})
    assert on.area_queues
    other = settings_of("worker" if service == "api" else "api", {"AREA_QUEUES": "true"})
    assert (on.task_queue, on.temporal_namespace, on.temporal_address, on.database_url) == (
        other.task_queue, other.temporal_namespace, other.temporal_address, other.database_url)


def test_the_worker_gets_what_its_activities_read() -> None:
    """Notifications are sent by the workers: their mail and link settings are the worker's to have."""
    env = environment("worker")
    assert {"SMTP_HOST", "SMTP_PORT", "SMTP_FROM", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS",
            "PUBLIC_URL"} <= set(env)
    s = settings_of("worker", {"SMTP_HOST": "mail", "SMTP_PORT": "587", "SMTP_STARTTLS": "true"})
    assert (s.smtp_host, s.smtp_port, s.smtp_starttls) == ("mail", 587, True)
    assert settings_of("worker").smtp_host == ""  # no mail unless asked for


def test_api_replicas_share_their_signing_key_and_attachments() -> None:
    env = SERVICES["api"]["environment"]
    required = VAR.fullmatch(str(env["SECRET_KEY"]))
    assert required is not None and required["op"] == "?"  # one required value for every replica
    target = environment("api")["ATTACHMENTS_DIR"]
    assert any(str(v).endswith(f":{target}") for v in SERVICES["api"].get("volumes", []))


@pytest.mark.parametrize("service", ["postgresql", "temporal", "api", "worker", "proxy"])
def test_health_checks(service: str) -> None:
    check = SERVICES[service].get("healthcheck")
    assert check, f"{service} has no health check"
    test = check["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL")
    text = " ".join(test)
    expected = {"postgresql": "pg_isready", "temporal": "cluster health", "api": "/healthz",
                "worker": f":{resolve(SERVICES['worker']['environment']['METRICS_BIND_ADDRESS']).split(':')[1]}/metrics",
                "proxy": "/healthz"}[service]
    assert expected in text
    for key in ("interval", "timeout", "retries"):
        assert key in check


def test_services_wait_on_health() -> None:
    def depends(service: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in SERVICES[service].get("depends_on", {}).items()}

    for service in ("api", "worker"):
        assert depends(service) == {"migrate": "service_completed_successfully", "temporal": "service_healthy"}
    assert depends("proxy") == {"api": "service_healthy"}
    assert depends("temporal") == {"postgresql": "service_healthy"}


def test_nginx_mounts_the_deploy_config_and_names_the_api_service() -> None:
    mounts = [str(v) for v in SERVICES["proxy"]["volumes"]]
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in mounts
    upstreams = dict(re.findall(r"upstream (\w+) \{([^}]*)\}", NGINX))
    assert set(re.findall(r"proxy_pass http://(\w+);", NGINX)) == set(upstreams) == {"api"}
    servers = re.findall(r"^\s*server ([\w.-]+):(\d+)\b", upstreams["api"], flags=re.M)
    api_port = command("api")[command("api").index("--port") + 1]
    assert servers == [("api", api_port)]  # the compose service, on the port its command listens on
    assert "api" in SERVICES
    listen = re.search(r"^\s*listen (\d+);", NGINX, flags=re.M)
    assert listen is not None
    published = [resolve(p).rsplit(":", 1)[1] for p in SERVICES["proxy"]["ports"]]
    assert published == [listen.group(1)]
    # `resolve` (re-resolving the replicas) needs nginx 1.27.3 or later, and the image's tag says which
    version = tuple(int(x) for x in re.match(r"nginx:(\d+)\.(\d+)\.(\d+)", image("proxy")).groups())  # type: ignore[union-attr]
    assert version >= (1, 27, 3)


def test_the_soak_runs_the_same_nginx_config() -> None:
    """scale_soak.nginx_conf changes the upstream's servers and the listen address, and no other line."""
    out = scale_soak.nginx_conf(NGINX, ["127.0.0.1:9001", "127.0.0.1:9002"], "127.0.0.1:9000")
    before, after = NGINX.splitlines(), out.splitlines()
    removed = [line for line in before if line not in after]
    added = [line for line in after if line not in before]
    assert [r.strip() for r in removed] == ["server api:8000 resolve;", "listen 8000;"]
    assert [a.strip() for a in added] == ["server 127.0.0.1:9001;", "server 127.0.0.1:9002;",
                                          "listen 127.0.0.1:9000;"]
    with pytest.raises(ValueError):
        scale_soak.nginx_conf("server { listen 8000; }", ["127.0.0.1:1"], "127.0.0.1:2")


@pytest.mark.skipif(not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists(), reason="no nginx here")
def test_debians_nginx_takes_the_soaks_config(tmp_path: Path) -> None:
    site = tmp_path / "default.conf"
    site.write_text(scale_soak.nginx_conf(NGINX, ["127.0.0.1:9001", "127.0.0.1:9002"], "127.0.0.1:9000"))
    main = tmp_path / "nginx.conf"
    main.write_text(scale_soak.nginx_main(tmp_path, site))
    r = subprocess.run([scale_soak.nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(main)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
