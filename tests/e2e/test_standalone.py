"""``fluxolab standalone`` end to end: real HTTP, the real worker on SQLite and the filesystem
broker, Flower's auth, and a clean Ctrl-C that leaves no process behind.

One system is booted per module (booting takes seconds); the shutdown test comes last.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bench._support import RUN_INPUT, WORKFLOW
from tests.e2e.stalling import assert_health_answers_while_stalled

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]  # a hang guard; the module takes ~40 s

ROOT = Path(__file__).resolve().parents[2]
FLUXOLAB = Path(sys.executable).parent / "fluxolab"
HOST = "127.0.0.1"
PASSWORD = "Correct-horse-battery-7!"
# at least: api (one waitress process), worker + 2 pool processes, beat, flower
EXPECTED_PROCESSES = 6
_STRIPPED = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI"}
_STRIPPED |= {"JWT_SECRET_KEY", "CREDENTIALS_ENCRYPTION_KEYS"}

Identity = tuple[int, int]  # (pid, start time in clock ticks): survives pid reuse


@dataclass
class System:
    proc: subprocess.Popen[bytes]
    api: str
    flower: str
    var_dir: Path
    output: Path
    env: dict[str, str]

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _child_env() -> dict[str, str]:
    """The caller's environment without `make test`'s services, so SQLite + filesystem apply."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in _STRIPPED and not name.startswith(("FLUXOLAB_", "FLOWER_"))
    }


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rpartition(")")[2].split()
    return fields[0], int(fields[1]), int(fields[19])


def _tree(root: int) -> set[Identity]:
    """The root process and all its descendants, found by scanning /proc."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None:
            children.setdefault(stat[1], []).append(int(entry.name))
            starts[int(entry.name)] = stat[2]
    found: set[Identity] = set()
    pending = [root]
    while pending:
        pid = pending.pop()
        if pid in starts:
            found.add((pid, starts[pid]))
            pending.extend(children.get(pid, []))
    return found


def _existing(identities: set[Identity]) -> set[Identity]:
    """Those of ``identities`` still present in the process table (zombies included)."""
    return {(pid, start) for pid, start in identities if (_stat(pid) or ("", 0, -1))[2] == start}


def _wait_until_ready(system: System, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert system.proc.poll() is None, f"standalone exited early:\n{system.text()}"
        if "FluxoLab is running" in system.text():
            assert httpx.get(f"{system.api}/api/health", timeout=2).status_code == 200
            return
        time.sleep(0.2)
    pytest.fail(f"standalone not ready after {timeout} s:\n{system.text()}")


def _kill_everything(system: System) -> None:
    """Last-resort cleanup when a test failed: stop the supervisor, SIGKILL any leftovers."""
    leftovers = _tree(system.proc.pid)
    if system.proc.poll() is None:
        system.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            system.proc.wait(timeout=15)
    for pid, _start in _existing(leftovers):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if system.proc.poll() is None:
        system.proc.kill()
    system.proc.wait()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A running ``fluxolab standalone`` on free ports and a fresh data folder."""
    base = tmp_path_factory.mktemp("standalone")
    port, flower_port = _free_port(), _free_port()
    var_dir, output = base / "var", base / "standalone.out"
    env = _child_env()
    argv = [str(FLUXOLAB), "standalone", "--host", HOST, "--port", str(port)]
    argv += ["--flower-port", str(flower_port), "--var-dir", str(var_dir)]
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    api, flower = f"http://{HOST}:{port}", f"http://{HOST}:{flower_port}"
    running = System(proc, api, flower, var_dir, output, env)
    try:
        _wait_until_ready(running)
        yield running
    finally:
        _kill_everything(running)


@pytest.fixture(scope="module")
def account(system: System) -> dict[str, str]:
    """A registered user: its id and a fresh access token."""
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=f"{system.api}/api", timeout=15) as client:
        registered = client.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "displayName": "E2E"}
        )
        assert registered.status_code == 201, registered.text
        login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
    return {"email": email, "id": registered.json()["user"]["id"], "token": login.json()["token"]}


def _secrets(system: System) -> dict[str, str]:
    data: dict[str, str] = json.loads((system.var_dir / "secrets.json").read_text())
    return data


def test_banner_lists_urls_and_data_folder_and_points_to_the_flower_login(
    system: System,
) -> None:
    text = system.text()
    for expected in (
        f"{system.api}/api\n",
        f"{system.api}/api/docs",
        f"{system.api}/api/openapi.json",
        system.flower,
        f"FLOWER_BASIC_AUTH in {system.var_dir / 'secrets.json'}",
        str(system.var_dir),
    ):
        assert expected in text
    assert _secrets(system)["FLOWER_BASIC_AUTH"].partition(":")[2] not in text


def test_secrets_file_is_private(system: System) -> None:
    assert (system.var_dir / "secrets.json").stat().st_mode & 0o777 == 0o600


def test_me_returns_the_logged_in_user_over_http(system: System, account: dict[str, str]) -> None:
    response = httpx.get(
        f"{system.api}/api/auth/me", headers={"Authorization": f"Bearer {account['token']}"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert (body["user"]["id"], body["user"]["email"]) == (account["id"], account["email"])


def test_workflow_runs_through_the_worker_on_sqlite_and_the_filesystem_broker(
    system: System, account: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {account['token']}"}
    with httpx.Client(base_url=f"{system.api}/api", headers=headers, timeout=15) as client:
        created = client.post("/workflows", json={"name": "e2e", "definition": WORKFLOW})
        assert created.status_code == 201, created.text
        workflow_id = created.json()["workflow"]["id"]
        accepted = client.post(f"/workflows/{workflow_id}/run", json=RUN_INPUT)
        assert accepted.status_code == 202, accepted.text
        execution_id = accepted.json()["executionId"]
        deadline = time.monotonic() + 30
        while (execution := client.get(f"/executions/{execution_id}").json()["execution"])[
            "status"
        ] in {"queued", "running"}:
            assert time.monotonic() < deadline, execution
            time.sleep(0.2)
        listed = client.get("/workflows", params={"search": "e2e"}).json()

    assert execution["status"] == "succeeded", execution
    assert [step["nodeId"] for step in execution["steps"]] == ["t", "s1", "if", "s2", "end"]
    assert [w["executionCount"] for w in listed["workflows"] if w["id"] == workflow_id] == [1]


def test_a_webhook_call_runs_and_answers_through_the_standalone_system(
    system: System, account: dict[str, str]
) -> None:
    flow = {
        "nodes": [
            {
                "id": "hook",
                "type": "webhook",
                "params": {"path": "e2e", "method": "POST", "respondMode": "when_complete"},
            },
            {
                "id": "double",
                "type": "set",
                "params": {"fields": [{"name": "twice", "value": "{{ $json.body.n * 2 }}"}]},
            },
        ],
        "connections": [{"from": "hook", "to": "double"}],
    }
    headers = {"Authorization": f"Bearer {account['token']}"}
    with httpx.Client(base_url=f"{system.api}/api", headers=headers, timeout=30) as client:
        workflow_id = client.post("/workflows", json={"name": "hook", "definition": flow}).json()[
            "workflow"
        ]["id"]
        assert client.patch(f"/workflows/{workflow_id}/status", json={"active": True}).is_success
        (hook,) = client.get("/webhooks", params={"workflowId": workflow_id}).json()["webhooks"][
            "webhooks"
        ]
    # the caller is a third party: no token of ours, only the webhook's URL
    answered = httpx.post(hook["url"], json={"n": 21}, timeout=30)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["status"] == "completed" and body["data"][0]["twice"] == 42


def test_docs_serve_swagger_html_and_openapi_json(system: System) -> None:
    docs = httpx.get(f"{system.api}/api/docs")
    spec = httpx.get(f"{system.api}/api/openapi.json")

    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger" in docs.text.lower()
    assert spec.status_code == 200
    assert spec.headers["content-type"] == "application/json"
    assert "/api/auth/me" in spec.json()["paths"]


def _sqlite_time(moment: datetime) -> str:
    """How SQLAlchemy stores our UTC timestamps in SQLite: naive UTC with microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _insert_reset_request(database: Path, user_id: str, expires_at: datetime) -> str:
    row_id = uuid.uuid4().hex
    with sqlite3.connect(database, timeout=10) as conn:
        conn.execute(
            "INSERT INTO password_reset_requests (id, user_id, code_hash, created_at,"
            " expires_at, attempts) VALUES (?, ?, ?, ?, ?, 0)",
            (
                row_id,
                uuid.UUID(user_id).hex,
                "not-a-real-hash",
                _sqlite_time(expires_at - timedelta(minutes=15)),
                _sqlite_time(expires_at),
            ),
        )
    return row_id


def _reset_request_ids(database: Path) -> set[str]:
    conn = sqlite3.connect(database, timeout=10)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM password_reset_requests")}
    finally:
        conn.close()


def test_worker_purges_expired_reset_request_enqueued_from_another_process(
    system: System, account: dict[str, str]
) -> None:
    database = system.var_dir / "fluxolab.db"
    now = datetime.now(UTC)
    expired = _insert_reset_request(database, account["id"], now - timedelta(hours=1))
    current = _insert_reset_request(database, account["id"], now + timedelta(hours=1))
    env = {
        **system.env,
        "FLUXOLAB_ENV": "standalone",
        "FLUXOLAB_VAR_DIR": str(system.var_dir),
        "DATABASE_URL": f"sqlite:///{database}",
        "CELERY_BROKER_URL": "filesystem://",
    }

    enqueue = subprocess.run(
        [str(FLUXOLAB), "enqueue", "maintenance.purge_auth_records"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert (enqueue.returncode, enqueue.stdout.strip()) == (0, "queued"), enqueue.stderr
    deadline = time.monotonic() + 30
    while expired in _reset_request_ids(database) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert {expired, current} & _reset_request_ids(database) == {current}


def _mail_to(outbox: Path, address: str, seen: set[Path], timeout: float = 30) -> str:
    """Wait for a new outbox mail to ``address`` (written by the worker or the api); its body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(set(outbox.glob("*.eml")) - seen):
            seen.add(path)
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == address:
                assert path.stat().st_mode & 0o777 == 0o600
                body: str = message.get_content()
                return body
        time.sleep(0.2)
    pytest.fail(f"no mail to {address} in {outbox} after {timeout} s")


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, text
    return match.group(1)


def _logged_anywhere(system: System, secret: str) -> list[str]:
    """The log files (and the supervisor's output) holding ``secret`` as a whole word."""
    alone = re.compile(rf"(?<![0-9A-Za-z_-]){re.escape(secret)}(?![0-9A-Za-z_-])")
    files = [*sorted((system.var_dir / "logs").glob("*.log")), system.output]
    return [str(path) for path in files if alone.search(path.read_text(errors="replace"))]


def test_reset_codes_and_invitation_tokens_reach_the_outbox_but_no_log(
    system: System, account: dict[str, str]
) -> None:
    outbox, seen = system.var_dir / "outbox", set[Path]()
    resetting, invited = (f"e2e-{kind}-{uuid.uuid4().hex[:8]}@example.com" for kind in "ri")
    headers = {"Authorization": f"Bearer {account['token']}"}
    with httpx.Client(base_url=f"{system.api}/api", timeout=15) as client:
        body = {"email": resetting, "password": PASSWORD, "displayName": "Reset"}
        assert client.post("/auth/register", json=body).status_code == 201
        forgot = client.post("/auth/password/forgot", json={"identifier": resetting})
        assert forgot.status_code == 200, forgot.text
        code = _found(r"\b(\d{6})\b", _mail_to(outbox, resetting, seen))
        verified = client.post(
            "/auth/password/verify", json={"identifier": resetting, "code": code}
        )
        assert verified.status_code == 200, verified.text
        reset_token = verified.json()["resetToken"]
        invite = client.post(
            "/users/workspace-members", json={"email": invited, "role": "editor"}, headers=headers
        )
        assert invite.status_code == 201, invite.text
        token = _found(r"codigo de convite: (\S+)", _mail_to(outbox, invited, seen))
        body = {"email": invited, "password": PASSWORD, "displayName": "Nova", "inviteToken": token}
        assert client.post("/auth/register", json=body).status_code == 201
    time.sleep(1)  # let the processes flush what they would have logged

    for secret in (code, reset_token, token):
        assert _logged_anywhere(system, secret) == [], secret
    assert outbox.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(
    ("with_auth", "status"), [(False, 401), (True, 200)], ids=["anonymous", "basic-auth"]
)
def test_flower_api_requires_the_basic_auth_from_secrets(
    system: System, with_auth: bool, status: int
) -> None:
    user, _, password = _secrets(system)["FLOWER_BASIC_AUTH"].partition(":")
    auth = (user, password) if with_auth else None

    response = httpx.get(f"{system.flower}/api/workers", auth=auth, timeout=15)

    assert response.status_code == status


@pytest.mark.parametrize(
    ("auth", "status"),
    [("none", 401), ("wrong", 401), ("right", 200)],
    ids=["anonymous", "wrong-password", "basic-auth"],
)
def test_flower_metrics_require_the_basic_auth_from_secrets(
    system: System, auth: str, status: int
) -> None:
    user, _, password = _secrets(system)["FLOWER_BASIC_AUTH"].partition(":")
    credentials = {"none": None, "wrong": (user, password + "x"), "right": (user, password)}

    response = httpx.get(f"{system.flower}/metrics", auth=credentials[auth], timeout=15)

    assert response.status_code == status
    if status == 200:
        assert "flower_events_total" in response.text or "# HELP" in response.text


def test_flower_healthcheck_stays_open_and_says_only_ok(system: System) -> None:
    response = httpx.get(f"{system.flower}/healthcheck", timeout=15)
    assert (response.status_code, response.text) == (200, "OK")


def test_flower_sees_the_worker_through_the_filesystem_broker(system: System) -> None:
    user, _, password = _secrets(system)["FLOWER_BASIC_AUTH"].partition(":")
    deadline = time.monotonic() + 45  # a loaded box: inspect replies come late
    workers: dict[str, object] = {}
    while not workers and time.monotonic() < deadline:
        response = httpx.get(
            f"{system.flower}/api/workers", params={"refresh": 1}, auth=(user, password)
        )
        assert response.status_code == 200
        workers = response.json()
    assert [name.partition("@")[0].startswith("standalone-") for name in workers] == [True]


def test_health_answers_within_a_second_while_200_clients_stall(system: System) -> None:
    assert_health_answers_while_stalled(system.api, int(system.api.rpartition(":")[2]))


def test_sigint_stops_every_process_and_exits_zero(system: System) -> None:
    """Keep last in this module: it stops the shared system."""
    deadline = time.monotonic() + 15
    tree = _tree(system.proc.pid)
    while len(tree) < 1 + EXPECTED_PROCESSES and time.monotonic() < deadline:
        time.sleep(0.2)
        tree = _tree(system.proc.pid)
    assert len(tree) >= 1 + EXPECTED_PROCESSES

    system.proc.send_signal(signal.SIGINT)

    assert system.proc.wait(timeout=20) == 0, system.text()
    assert _existing(tree) == set()
