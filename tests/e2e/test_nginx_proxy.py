"""The compose front (deploy/nginx/nginx.conf) with Debian's nginx on loopback, before the api
service's own gunicorn command: stalled clients, client addresses, size limits, timeouts.

The repository's file is rendered with only what loopback needs (listen address, upstream
address, temporary and pid files), never copied.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.stalling import (
    STALLED_REQUEST,
    assert_health_answers_while_stalled,
    exchange,
    stalled_clients,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
LOGIN_LIMIT = 3  # LOGIN_RATE_LIMIT per minute of the api under test
BODY_TIMEOUT = 10  # client_body_timeout of nginx.conf, in seconds
MAX_BODY = 1024 * 1024  # MAX_BODY_BYTES default = client_max_body_size 1m


@dataclass
class Front:
    url: str
    port: int
    log: Path
    api_port: int = 0  # gunicorn's own port, behind nginx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nginx_binary() -> str:
    """Debian's nginx, or skip (non-root) / fail (root: ``make test`` installs it)."""
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)),
        None,
    )
    if found:
        return found
    reason = "nginx is not installed: `apt-get install nginx` (make test does it when run as root)"
    if os.geteuid() == 0:
        pytest.fail(reason + "; run the suite through `make test` or scripts/with-services.sh")
    pytest.skip(reason)


def _compose_api() -> dict[str, object]:
    api: dict[str, object] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][
        "api"
    ]
    return api


def render_nginx_conf(upstream_port: int, port: int, folder: Path) -> str:
    """The repository's nginx.conf aimed at loopback, with its temporary files in ``folder``."""
    text = NGINX_CONF.read_text()
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "".join(f"\n    {kind}_temp_path {folder / kind};" for kind in kinds)
    for old, new in (
        ("server api:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
        ("http {", "http {" + temp),
    ):
        assert text.count(old) == 1, f"{NGINX_CONF} no longer contains {old!r} exactly once"
        text = text.replace(old, new)
    return text


def _api_command(port: int) -> list[str]:
    """The compose api service's gunicorn command on a loopback port with one worker."""
    command = str(_compose_api()["command"])
    command = command.replace("0.0.0.0:8000", f"127.0.0.1:{port}").replace("${API_WORKERS:-4}", "1")
    argv = shlex.split(command)
    assert argv[0] == "gunicorn", argv
    return [sys.executable, "-m", *argv]


def _api_env(folder: Path) -> dict[str, str]:
    """Production mode on a SQLite file, with the compose api's TRUSTED_PROXY_HOPS."""
    hops = _compose_api()["environment"]["TRUSTED_PROXY_HOPS"]  # type: ignore[index]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUXOLAB_", "DATABASE_"))}
    env |= {
        "FLUXOLAB_ENV": "production",
        "FLUXOLAB_VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'fluxolab.db'}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per minute",
        "TRUSTED_PROXY_HOPS": str(hops),
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "CREDENTIALS_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZlcm5ldC1rZXktMDEyMzQ1Njc4OTA=",
        "PYTHONPATH": str(ROOT),
    }
    return env


def _wait_for(url: str, procs: list[subprocess.Popen[bytes]], log: Path) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        assert all(proc.poll() is None for proc in procs), log.read_text(errors="replace")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} not answering:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def front() -> Iterator[Front]:
    """gunicorn as compose runs it, behind nginx with the repository's configuration."""
    nginx = _nginx_binary()
    # nginx's workers run unprivileged under root: their temporary folder must be reachable.
    folder = Path(tempfile.mkdtemp(prefix="fluxolab-nginx-"))
    folder.chmod(0o755)
    log = folder / "processes.log"
    api_port, port = _free_port(), _free_port()
    env = _api_env(folder)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with log.open("ab") as sink:
            migrate = ["flask", "--app", "wsgi", "db", "upgrade"]  # the compose migrate command
            subprocess.run(
                [sys.executable, "-m", *migrate], cwd=ROOT, env=env, stdout=sink, stderr=sink,
                check=True, timeout=60,
            )  # fmt: skip
            procs.append(
                subprocess.Popen(
                    _api_command(api_port), cwd=ROOT, env=env, stdout=sink, stderr=sink
                )
            )
            (folder / "nginx.conf").write_text(render_nginx_conf(api_port, port, folder))
            nginx_argv = [nginx, "-p", f"{folder}/", "-c", str(folder / "nginx.conf")]
            nginx_argv += ["-e", str(folder / "error.log")]
            nginx_argv += ["-g", f"daemon off; pid {folder / 'nginx.pid'};"]
            procs.append(subprocess.Popen(nginx_argv, stdout=sink, stderr=sink))
        url = f"http://127.0.0.1:{port}"
        _wait_for(f"{url}/api/health", procs, log)
        yield Front(url, port, log, api_port)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(folder, ignore_errors=True)


def _login(front: Front, source: str, headers: dict[str, str] | None = None) -> int:
    """One failed login from the loopback address ``source``; return the status."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=10) as client:
        response = client.post(
            f"{front.url}/api/auth/login",
            json={"email": f"{secrets.token_hex(6)}@example.com", "password": "not-the-password"},
            headers=headers,
        )
    return response.status_code


def test_health_answers_within_a_second_while_200_clients_stall(front: Front) -> None:
    assert_health_answers_while_stalled(front.url, front.port)


def test_rate_limits_count_the_client_address_behind_the_proxy(front: Front) -> None:
    statuses = [_login(front, "127.0.0.2") for _ in range(LOGIN_LIMIT)]
    forged = _login(front, "127.0.0.2", {"X-Forwarded-For": "203.0.113.9"})
    other_client = _login(front, "127.0.0.3")

    assert statuses == [401] * LOGIN_LIMIT
    assert forged == 429  # the client's own X-Forwarded-For is replaced, not trusted
    assert other_client == 401  # a different client has its own budget


def test_body_over_the_limit_is_refused_with_a_json_413_before_it_is_read(front: Front) -> None:
    head = STALLED_REQUEST.partition(b"\r\n\r\n")[0].replace(b"100", str(MAX_BODY + 1).encode())
    started = time.monotonic()

    status, headers, body = exchange(front.port, head + b"\r\nConnection: close\r\n\r\n")

    assert time.monotonic() - started < 2
    assert (status, headers["content-type"]) == (413, "application/json")
    assert json.loads(body)["code"] == "payload_too_large"


def test_body_at_the_limit_reaches_the_api(front: Front) -> None:
    response = httpx.post(f"{front.url}/api/auth/login", content=b"x" * MAX_BODY, timeout=10)

    assert response.status_code not in {413, 502, 503}
    assert response.json()["status"] == "error"


def test_overlong_request_line_gets_a_json_414(front: Front) -> None:
    request = (
        b"GET /api/health?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )

    status, headers, body = exchange(front.port, request)

    assert (status, headers["content-type"]) == (414, "application/json")
    assert json.loads(body)["code"] == "uri_too_long"


def test_stalled_connections_are_closed_after_the_body_timeout(front: Front) -> None:
    with stalled_clients(front.port, count=3) as sockets:
        started = time.monotonic()
        for sock in sockets:
            sock.settimeout(BODY_TIMEOUT + 8)
            with contextlib.suppress(ConnectionResetError):  # reset_timedout_connection
                assert sock.recv(1024) == b""
        elapsed = time.monotonic() - started

    assert BODY_TIMEOUT - 2 < elapsed < BODY_TIMEOUT + 8
