"""The production topology (docker-compose.yml, Dockerfile) matches what README.md documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fluxolab.config import webhook_settings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {
    "postgres", "redis", "migrate", "api", "proxy", "worker", "worker-system", "beat", "flower",
    "prometheus", "grafana",
}  # fmt: skip
APP_SERVICES = ("migrate", "api", "worker", "worker-system", "beat", "flower")
LONG_RUNNING = (
    "postgres", "redis", "api", "proxy", "worker", "worker-system", "beat", "flower",
    "prometheus", "grafana",
)  # fmt: skip
WORKERS = ("worker", "worker-system")
MONITORING = ("prometheus", "grafana")
SECRETS = (
    "JWT_SECRET_KEY",
    "CREDENTIALS_ENCRYPTION_KEYS",
    "FLOWER_BASIC_AUTH",
    "POSTGRES_PASSWORD",
)
COMMAND_PREFIXES = {
    "migrate": 'sh -c "flask --app wsgi db upgrade && flask --app wsgi sync-node-catalog"',
    "api": "gunicorn wsgi:app --bind 0.0.0.0:8000",
    "worker": "celery -A workers worker -Q executions --pool solo",
    "worker-system": "celery -A workers worker -Q ",
    "beat": "celery -A workers beat ",
    "flower": "celery -A workers flower ",
}


def compose() -> dict[str, Any]:
    """Return the parsed docker-compose.yml (YAML anchors and merge keys resolved)."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def service(name: str) -> dict[str, Any]:
    """Return one service definition of docker-compose.yml."""
    definition: dict[str, Any] = compose()["services"][name]
    return definition


def readme_section(title: str) -> str:
    """Return the text of the README's ``## <title>`` section up to the next ``## `` heading."""
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """Return the Dockerfile as (INSTRUCTION, arguments) pairs, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def test_compose_defines_exactly_the_documented_services() -> None:
    assert set(compose()["services"]) == SERVICES


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_service_has_a_healthcheck(name: str) -> None:
    check = service(name).get("healthcheck") or {}
    assert check.get("test"), f"{name} has no healthcheck"
    assert not check.get("disable", False)
    assert check["test"][0] in {"CMD", "CMD-SHELL"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_runs_the_one_image_built_from_the_dockerfile(name: str) -> None:
    api = service("api")
    assert service(name)["build"] == "."
    assert service(name)["image"] == api["image"]
    assert (ROOT / "Dockerfile").is_file()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_service_command_is_the_one_readme_documents(name: str) -> None:
    command = service(name)["command"]
    assert isinstance(command, str)
    assert command.startswith(COMMAND_PREFIXES[name])
    assert f"`{command}`" in readme_section("Running in production")


def test_workers_consume_every_configured_celery_queue_once() -> None:
    import celeryconfig

    consumed: list[str] = []
    for name in WORKERS:
        queues = re.search(r" -Q (\S+)", service(name)["command"])
        assert queues, name
        consumed += queues.group(1).split(",")
    assert sorted(consumed) == sorted(queue.name for queue in celeryconfig.task_queues)


@pytest.mark.parametrize("name", WORKERS)
def test_workers_get_what_bwrap_needs_and_nothing_more(name: str) -> None:
    worker = service(name)
    assert (worker["user"], worker["cap_add"]) == ("root", ["SYS_ADMIN"])
    assert sorted(worker["security_opt"]) == ["apparmor=unconfined", "seccomp=unconfined"]
    assert not worker.get("privileged", False)


def test_only_workers_get_sandbox_privileges() -> None:
    others = set(compose()["services"]) - set(WORKERS)
    privileged = {
        name for name in others if {"cap_add", "security_opt", "privileged"} & set(service(name))
    }
    assert not privileged


def test_readme_says_why_workers_get_each_privilege() -> None:
    text = readme_section("The Code node sandbox")
    for setting in (
        "user: root",
        "cap_add: [SYS_ADMIN]",
        "seccomp=unconfined",
        "apparmor=unconfined",
    ):
        assert setting in text, setting


def test_beat_runs_exactly_one_replica() -> None:
    beat = service("beat")
    assert beat.get("deploy", {}).get("replicas", 1) == 1
    assert "scale" not in beat


def test_flower_is_published_on_loopback_only() -> None:
    ports = service("flower").get("ports", [])
    assert ports
    assert all(str(port).startswith("127.0.0.1:") for port in ports)


@pytest.mark.parametrize("name", ["postgres", "redis", "api"])
def test_service_is_not_published_on_the_host(name: str) -> None:
    assert "ports" not in service(name)


@pytest.mark.parametrize("name", ["api", *WORKERS, "beat"])
def test_app_service_waits_for_migrations_and_redis(name: str) -> None:
    depends = service(name)["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["redis"]["condition"] == "service_healthy"


def test_migrate_is_one_shot_after_postgres_is_healthy() -> None:
    migrate = service("migrate")
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_runs_in_production_mode_on_compose_datastores(name: str) -> None:
    env = service(name)["environment"]
    assert service(name)["env_file"] == ".env"
    assert env["FLUXOLAB_ENV"] == "production"
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://fluxolab:")
    assert env["DATABASE_URL"].endswith("@postgres:5432/fluxolab")
    assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/1"
    assert env["JWT_SECRET_KEY"] and env["CREDENTIALS_ENCRYPTION_KEYS"]


@pytest.mark.parametrize("secret", SECRETS)
def test_secret_is_required_wherever_compose_uses_it(secret: str) -> None:
    references = re.findall(rf"\$\{{{secret}([^}}]*)\}}", (ROOT / "docker-compose.yml").read_text())
    assert references, f"docker-compose.yml never passes {secret}"
    assert all(re.fullmatch(r":\?\S.*", modifier) for modifier in references), references


def test_flower_login_is_required() -> None:
    assert service("flower")["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")


def test_flower_loads_the_config_that_protects_its_metrics() -> None:
    command = service("flower")["command"].split()
    assert "--conf=workers/flowerconfig.py" in command
    assert (ROOT / "workers" / "flowerconfig.py").is_file()
    copied = [args.split() for keyword, args in dockerfile_instructions() if keyword == "COPY"]
    assert ["workers/", "workers/"] in copied  # the image has the config where compose looks


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in dockerfile_instructions() if keyword == "USER"]
    assert users, "the Dockerfile has no USER line"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_installs_runtime_dependencies_from_constraints() -> None:
    runs = [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]
    installs = [args for args in runs if "pip install" in args]
    assert installs
    assert all("-c constraints.txt" in args for args in installs)
    assert not any("[dev]" in args for args in installs)


def test_dockerfile_installs_bubblewrap_for_the_code_node() -> None:
    runs = [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]
    assert any("apt-get install" in args and "bubblewrap" in args.split() for args in runs)


def test_dockerfile_bakes_in_no_secrets() -> None:
    settings = " ".join(
        args for keyword, args in dockerfile_instructions() if keyword in {"ENV", "ARG"}
    )
    assert not [secret for secret in (*SECRETS, "SMTP_PASSWORD") if secret in settings]


def test_dockerfile_copies_what_the_processes_import() -> None:
    copied = " ".join(args for keyword, args in dockerfile_instructions() if keyword == "COPY")
    for path in ("fluxolab/", "workers/", "migrations/", "wsgi.py", "celeryconfig.py"):
        assert path in copied


def test_dockerfile_default_command_is_gunicorn() -> None:
    commands = [args for keyword, args in dockerfile_instructions() if keyword == "CMD"]
    assert commands and commands[-1].startswith('["gunicorn", "wsgi:app"')


@pytest.mark.parametrize("entry", [".env", ".git", ".venv", "var"])
def test_dockerignore_keeps_local_state_out_of_the_image(entry: str) -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert entry in lines


def nginx_directives() -> dict[str, list[str]]:
    """Return deploy/nginx/nginx.conf as directive name -> values (comments dropped)."""
    text = re.sub(r"#.*", "", (ROOT / "deploy" / "nginx" / "nginx.conf").read_text())
    found: dict[str, list[str]] = {}
    for statement in re.findall(r"([a-z_]+)\s+([^;{}]*);", text):
        found.setdefault(statement[0], []).append(statement[1].strip())
    return found


def test_only_the_proxy_publishes_the_api_port() -> None:
    published = {name for name, spec in compose()["services"].items() if spec.get("ports")}
    assert published == {"proxy", "flower", "grafana"}
    assert service("proxy")["ports"] == ["${FLUXOLAB_PORT:-8000}:8080"]
    assert nginx_directives()["listen"] == ["8080"]


def test_proxy_runs_the_official_nginx_image_with_the_repository_config() -> None:
    proxy = service("proxy")
    assert proxy["image"].startswith("nginx:")
    assert proxy["volumes"] == ["./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro"]
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"


def test_proxy_forwards_to_the_api_service_with_the_client_address() -> None:
    directives = nginx_directives()
    assert directives["server"] == ["api:8000"]
    assert set(directives["proxy_pass"]) == {"http://fluxolab_api"}  # every location
    assert "X-Forwarded-For $remote_addr" in directives["proxy_set_header"]
    assert service("api")["environment"]["TRUSTED_PROXY_HOPS"] == "1"


def test_proxy_buffers_whole_requests_with_read_timeouts() -> None:
    directives = nginx_directives()
    assert directives["proxy_request_buffering"] == ["on"]
    assert directives["client_header_timeout"] == ["10s"]
    assert directives["client_body_timeout"] == ["10s"]
    assert directives["reset_timedout_connection"] == ["on"]


def test_proxy_body_limit_matches_the_api_default() -> None:
    from fluxolab.config import build_config

    limit = build_config({"FLUXOLAB_ENV": "test"})["MAX_CONTENT_LENGTH"]
    assert nginx_directives()["client_max_body_size"] == [f"{limit // (1024 * 1024)}m"]


def prometheus_config() -> dict[str, Any]:
    """Return the parsed deploy/prometheus/prometheus.yml."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    return data


def scrape_jobs() -> dict[str, dict[str, Any]]:
    """The scrape jobs of the monitoring profile by the compose service they discover."""
    jobs: dict[str, dict[str, Any]] = {}
    for job in prometheus_config()["scrape_configs"]:
        for discovery in job.get("dns_sd_configs", []):
            for name in discovery["names"]:
                jobs[name] = {**job, "port": discovery["port"]}
    return jobs


def test_monitoring_services_run_only_in_the_monitoring_profile() -> None:
    profiled = {name for name, spec in compose()["services"].items() if spec.get("profiles")}
    assert profiled == set(MONITORING)
    assert all(service(name)["profiles"] == ["monitoring"] for name in MONITORING)


@pytest.mark.parametrize("name", MONITORING)
def test_monitoring_service_gets_no_app_secrets(name: str) -> None:
    spec = service(name)
    assert "env_file" not in spec
    assert not set(spec.get("environment", {})) & {*SECRETS, "DATABASE_URL"}


def test_monitoring_settings_are_not_required_by_the_default_profile() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in ("METRICS_TOKEN", "GRAFANA_ADMIN_PASSWORD"):
        assert f"${{{name}:-}}" in text
        assert f"${{{name}:?" not in text  # interpolation would fail without the profile


def test_prometheus_scrapes_every_service_that_exposes_metrics() -> None:
    exposing = {"api"} | {
        name for name, spec in compose()["services"].items()
        if "WORKER_METRICS_PORT" in spec.get("environment", {})
    }  # fmt: skip
    assert exposing == {"api", *WORKERS}
    assert set(scrape_jobs()) == exposing


def test_prometheus_scrapes_the_api_with_the_bearer_token_it_writes() -> None:
    job = scrape_jobs()["api"]
    assert (job["port"], job["metrics_path"]) == (8000, "/metrics")
    assert job["authorization"]["type"] == "Bearer"
    token_file = job["authorization"]["credentials_file"]
    assert f"> {token_file} " in service("prometheus")["command"][0]
    assert "prometheusdata:/prometheus" in service("prometheus")["volumes"]


@pytest.mark.parametrize("name", WORKERS)
def test_each_worker_container_serves_its_metrics_port_to_the_compose_network(name: str) -> None:
    env = service(name)["environment"]
    assert scrape_jobs()[name]["port"] == int(env["WORKER_METRICS_PORT"])
    assert env["WORKER_METRICS_ADDRESS"] == "0.0.0.0"
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert "ports" not in service(name)


def test_the_api_sums_its_gunicorn_workers() -> None:
    assert service("api")["environment"]["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert service("api")["command"].endswith("--config python:fluxolab.gunicorn_config")
    commands = [args for keyword, args in dockerfile_instructions() if keyword == "CMD"]
    assert '"--config", "python:fluxolab.gunicorn_config"' in commands[-1]


def test_monitoring_services_mount_the_repository_config() -> None:
    mounts = {
        "prometheus": {"./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"},
        "grafana": {
            "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
            "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro",
        },
    }
    for name, expected in mounts.items():
        volumes = set(service(name)["volumes"])
        assert expected <= volumes, name
        for mount in expected:
            assert (ROOT / mount.split(":")[0]).exists(), mount


def test_grafana_is_published_on_loopback_and_provisioned_with_the_prometheus_service() -> None:
    assert service("grafana")["ports"] == ["127.0.0.1:${GRAFANA_PORT:-3000}:3000"]
    provisioning = ROOT / "deploy/grafana/provisioning"
    sources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    (source,) = sources["datasources"]
    assert source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards/fluxolab.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
    dashboard = (ROOT / "deploy/grafana/dashboards/fluxolab.json").read_text()
    assert f'"uid": "{source["uid"]}"' in dashboard


def test_api_stop_lets_the_longest_request_wait_finish() -> None:
    api = service("api")
    match = re.search(r"--graceful-timeout (\d+)", api["command"])
    assert match, "the api's gunicorn sets --graceful-timeout"
    graceful = int(match.group(1))
    assert graceful > webhook_settings()["WEBHOOK_WAIT_SECONDS"]
    assert int(str(api["stop_grace_period"]).removesuffix("s")) > graceful
