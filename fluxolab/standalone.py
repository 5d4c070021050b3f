"""``fluxolab standalone`` (``make run``): api, worker, beat and Flower under one supervisor.

Everything runs locally on SQLite and kombu's ``filesystem://`` broker under one data folder.
Each child runs in its own session (so its own process group): a final SIGKILL to each group
also reaches Celery's own worker processes. A group is only signalled while
its leader is unreaped (alive or a zombie), so its id cannot belong to an unrelated process.
On Linux children also get SIGTERM if the supervisor itself dies (even by SIGKILL).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click

import fluxolab
from fluxolab.config import load_or_create_local_secrets
from fluxolab.metrics import multiproc

PROJECT_ROOT = Path(fluxolab.__file__).resolve().parents[1]
TASK_QUEUES = ("executions", "node_tests", "maintenance")
STARTUP_TIMEOUT = 60.0  # generous: a loaded laptop needs 20+ s to import four apps
STOP_TIMEOUT = 10.0
POLL_SECONDS = 0.2
FLOWER_INSPECT_TIMEOUT_MS = 3000  # the filesystem broker answers inspect broadcasts late
_PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    """One supervised process: its command, its log file and, once started, its Popen."""

    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = field(default=None, repr=False)
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def exit_status(self) -> str | None:
        """How the leader ended ("code 1", "signal 9"), or None while it runs.

        Peeks without reaping, so the leader's pid (its group id) cannot be reused yet.
        """
        if self.proc is None or self.proc.returncode is not None:
            return "reaped"
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        try:
            info = os.waitid(os.P_PID, self.proc.pid, flags)
        except ChildProcessError:
            return "reaped"
        if info is None:
            return None
        kind = "code" if info.si_code == os.CLD_EXITED else "signal"
        return f"{kind} {info.si_status}"

    def send(self, signum: int, *, group: bool = False) -> None:
        """Signal the leader (or its whole process group) while the leader is still unreaped."""
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            (os.killpg if group else os.kill)(self.proc.pid, signum)


class StopRequest:
    """A signal handler for SIGINT/SIGTERM/SIGHUP that only sets a flag the loops poll."""

    requested = False

    def __call__(self, _signum: int, _frame: Any) -> None:
        self.requested = True


def run_standalone(host: str, port: int, var_dir: str, flower_port: int) -> int:
    """Prepare, migrate, start and supervise all processes; return the exit status."""
    folder = prepare_environment(Path(var_dir))
    migrate_database()
    children = build_children(host, port, flower_port, folder)
    stop = StopRequest()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        _start_all(children)
        problem = _wait_until_ready(host, port, flower_port, children, stop)
        if problem:
            click.echo(f"fluxolab: {problem}", err=True)
            return 0 if stop.requested else 1
        _print_banner(host, port, flower_port, folder)
        return _supervise(children, stop)
    finally:
        click.echo("fluxolab: stopping api, worker, beat and flower ...", err=True)
        stop_all(children)


def prepare_environment(var_dir: Path) -> Path:
    """Create the data folders and export the standalone settings and secrets to ``os.environ``.

    Explicit ``DATABASE_URL``/``CELERY_BROKER_URL``/``RATELIMIT_STORAGE_URI`` and secrets are
    kept; children inherit the result, so every process shares one database, broker and keys.
    """
    folder = var_dir.resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sub in ("broker/queue", "broker/processed", "broker/control", "outbox", "logs"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    multiproc.reset(metrics_folder(folder))  # the api's /metrics sums the api and the worker
    os.environ["FLUXOLAB_ENV"] = "standalone"
    os.environ["FLUXOLAB_VAR_DIR"] = str(folder)
    defaults = {
        "DATABASE_URL": f"sqlite:///{folder / 'fluxolab.db'}",
        "CELERY_BROKER_URL": "filesystem://",
        "RATELIMIT_STORAGE_URI": "memory://",
        **load_or_create_local_secrets(folder),
    }
    for name, value in defaults.items():
        if not os.environ.get(name, "").strip():
            os.environ[name] = value
    python_path = [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(part for part in python_path if part)
    os.environ["PYTHONUNBUFFERED"] = "1"
    if os.environ["CELERY_BROKER_URL"].startswith("filesystem"):
        forget_broadcast_queues(folder / "broker")
    return folder


def metrics_folder(folder: Path) -> Path:
    """The multiprocess metrics folder the api and the worker share (``var/metrics``)."""
    return folder / "metrics"


def child_environment(name: str, folder: Path) -> dict[str, str]:
    """The environment of one child: the api and the worker write metrics to one folder.

    Beat and Flower get none (Flower keeps its own ``/metrics``), so one scrape of the api
    reads the api's and the worker's processes, and only theirs.
    """
    own = {multiproc.ENV, "WORKER_METRICS_PORT"}  # the worker's port would count it twice
    env = {key: value for key, value in os.environ.items() if key not in own}
    if name in ("api", "worker"):
        env[multiproc.ENV] = str(metrics_folder(folder))
    return env


def forget_broadcast_queues(broker: Path) -> None:
    """Drop exchange bindings and undelivered broadcast messages left by earlier runs.

    The filesystem transport keeps bindings in ``control/`` forever; without this, every
    event and ``inspect`` broadcast would keep writing files for the queues of dead
    processes. Task messages (the ``TASK_QUEUES``) are kept: they are accepted work.
    Call only while no process uses the broker.
    """
    for binding in (broker / "control").glob("*.exchange"):
        binding.unlink(missing_ok=True)
    for message in (broker / "queue").glob("*.msg"):
        queue = message.name.partition(".")[2].removesuffix(".msg")
        if queue not in TASK_QUEUES:
            message.unlink(missing_ok=True)


def migrate_database() -> None:
    """Upgrade the database to the migration head, in this process, before any child starts.

    The node catalog tables are then synced from the registry (idempotent).
    """
    from flask_migrate import upgrade

    from fluxolab import create_app
    from fluxolab.extensions import db
    from fluxolab.nodes.service import sync_node_catalog

    app = create_app()
    with app.app_context():
        upgrade()
        sync_node_catalog()
        db.session.remove()
        db.engine.dispose()


def build_children(host: str, port: int, flower_port: int, folder: Path) -> list[Child]:
    """The four commands, run with this interpreter (the venv) from the project root."""
    python = [sys.executable, "-m"]
    celery = [*python, "celery", "-A", "workers"]
    logs = folder / "logs"
    # waitress reads whole requests before a thread sees them (fluxolab/webserver.py)
    api = [*python, "fluxolab.webserver", "--host", host, "--port", str(port)]
    worker = [
        *celery, "worker", "-Q", ",".join(TASK_QUEUES), "--pool", "prefork", "--concurrency", "2",
        "--loglevel", "INFO", "--hostname", f"standalone-{os.getpid()}@%h",
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    beat = [*celery, "beat", "-s", str(folder / "celerybeat-schedule"), "--loglevel", "INFO"]
    # Flower reads its login from FLOWER_BASIC_AUTH (exported above): not on the command
    # line, where every local user could read it with ps. Its config file puts /metrics
    # behind that login too. An inspect broadcast expires after Flower's inspect timeout;
    # on the filesystem broker the worker polls its queues (celeryconfig.py), so Flower
    # waits longer than its 1 s default for the worker's answers.
    flower = [
        *celery, "flower", f"--port={flower_port}", f"--address={host}",
        f"--conf={PROJECT_ROOT / 'workers' / 'flowerconfig.py'}",
        f"--inspect_timeout={FLOWER_INSPECT_TIMEOUT_MS}",
    ]  # fmt: skip
    commands = {"api": api, "worker": worker, "beat": beat, "flower": flower}
    return [
        Child(name, argv, logs / f"{name}.log", env=child_environment(name, folder))
        for name, argv in commands.items()
    ]


def _start_all(children: list[Child]) -> None:
    for child in children:
        child.log = child.log_path.open("ab")
        child.log.write(f"\n=== fluxolab standalone: starting {child.name} ===\n".encode())
        child.log.flush()
        child.proc = subprocess.Popen(
            child.argv,
            cwd=PROJECT_ROOT,
            env=child.env or None,
            stdin=subprocess.DEVNULL,
            stdout=child.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # safe: the supervisor starts no threads
        )


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when the supervisor dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return hook


def _wait_until_ready(
    host: str, port: int, flower_port: int, children: list[Child], stop: StopRequest
) -> str | None:
    """Wait for /api/health and Flower's port; return why startup failed, or None."""
    health = f"{_base_url(host, port)}/api/health"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    api_up = False
    while time.monotonic() < deadline:
        if stop.requested:
            return "interrupted during startup."
        dead = _first_exited(children)
        if dead is not None:
            return (
                f"{dead.name} exited during startup ({dead.exit_status()}).\n{_tail(dead.log_path)}"
            )
        api_up = api_up or _answers(health)
        if api_up and _port_open(host, flower_port):
            return None
        time.sleep(POLL_SECONDS)
    return f"not ready after {STARTUP_TIMEOUT:.0f} s ({health}); see {children[0].log_path}."


def _supervise(children: list[Child], stop: StopRequest) -> int:
    """Block until a stop signal (0) or the first unexpected child exit (1)."""
    while not stop.requested:
        dead = _first_exited(children)
        if dead is not None:
            click.echo(
                f"fluxolab: {dead.name} exited unexpectedly ({dead.exit_status()});"
                " stopping the others.\n"
                f"{_tail(dead.log_path)}",
                err=True,
            )
            return 1
        time.sleep(POLL_SECONDS)
    return 0


def stop_all(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every leader, wait up to ``timeout``, SIGKILL every group, then reap all.

    Only leaders get SIGTERM: Celery then stops its own worker processes
    gracefully (a SIGTERM to the whole group would kill Celery's pool mid-task).
    """
    started = [child for child in children if child.proc is not None]
    for child in started:
        child.send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _first_running(started) is not None:
        time.sleep(0.1)
    for child in started:
        # Leaders are alive or zombies here: their group ids are still ours to signal.
        child.send(signal.SIGKILL, group=True)
    for child in started:
        assert child.proc is not None
        child.proc.wait()
        if child.log is not None:
            child.log.close()


def _first_exited(children: list[Child]) -> Child | None:
    return next((child for child in children if child.exit_status() is not None), None)


def _first_running(children: list[Child]) -> Child | None:
    return next((child for child in children if child.exit_status() is None), None)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join(f"  | {line}" for line in text) + f"\n  (full log: {path})"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310  (http only)
            return bool(response.status == 200)
    except OSError:
        return False


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_probe_host(host), port), timeout=1):
            return True
    except OSError:
        return False


def _probe_host(host: str) -> str:
    """Where to connect to reach a server bound to ``host`` (wildcards mean loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _base_url(host: str, port: int) -> str:
    return f"http://{_url_host(_probe_host(host))}:{port}"


def _print_banner(host: str, port: int, flower_port: int, folder: Path) -> None:
    """Print where everything is; secrets stay in ``secrets.json`` (0600), never on stdout."""
    api = _base_url(host, port)
    register = (
        f"curl -s -X POST {api}/api/auth/register -H 'Content-Type: application/json' "
        """-d '{"email": "me@example.com", "password": "Change-me-1!", """
        """"displayName": "Me"}'"""
    )
    click.echo(
        "\nFluxoLab is running (Ctrl-C stops everything)\n"
        f"  API            {api}/api\n"
        f"  Swagger UI     {api}/api/docs\n"
        f"  OpenAPI JSON   {api}/api/openapi.json\n"
        f"  Metrics        {api}/metrics  (bearer: METRICS_TOKEN in {folder / 'secrets.json'})\n"
        f"  Flower         {_base_url(host, flower_port)}"
        f"  (login: FLOWER_BASIC_AUTH in {folder / 'secrets.json'})\n"
        f"  Data folder    {folder}  (database, broker, secrets.json, outbox)\n"
        f"  Logs           {folder / 'logs'}/{{api,worker,beat,flower}}.log\n\n"
        f"First request:\n  {register}\n"
        f"  then POST {api}/api/auth/login with the same email and password.\n"
    )
