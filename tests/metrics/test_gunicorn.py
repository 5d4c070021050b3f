"""The compose api's setup: gunicorn workers in multiprocess mode, summed on every scrape."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask

from tests.engine.fakes import free_port
from tests.metrics.scrape import value

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "gunicorn-metrics-token-0123456789abcdef0123"
HEALTH = {"route": "/api/health", "method": "GET", "status": "200"}


@pytest.fixture(scope="module")
def gunicorn(
    app: Flask, database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """``gunicorn wsgi:app`` with two workers and the metrics hooks, on a free port."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left by an earlier run")
    port = free_port()
    env = {
        **os.environ,
        "FLUXOLAB_ENV": "test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "PYTHONPATH": str(ROOT),
    }
    argv = [
        sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--threads", "2", "--config", "python:fluxolab.gunicorn_config",
    ]  # fmt: skip
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/api/health"):
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield base, folder, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def test_every_scrape_sums_all_gunicorn_workers_alive_or_gone(
    gunicorn: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    base, folder, proc = gunicorn
    assert not (folder / "counter_999999.db").exists()  # the master emptied the folder
    headers = {"Authorization": f"Bearer {TOKEN}"}
    text = httpx.get(f"{base}/metrics", headers=headers).text
    first = value(text, "fluxolab_http_requests_total", **HEALTH)
    for _ in range(40):  # a new connection each: either worker may take it
        assert httpx.get(f"{base}/api/health", timeout=10).status_code == 200
    for _ in range(6):  # whichever worker answers the scrape reports the same sum
        text = httpx.get(f"{base}/metrics", headers=headers).text
        assert value(text, "fluxolab_http_requests_total", **HEALTH) == first + 40
    served_by = _worker_pids(proc.pid)
    for pid in served_by:  # gunicorn replaces both; the new ones served none of the 40
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while len(_worker_pids(proc.pid) - served_by) < 2 or not _answers(f"{base}/api/health"):
        assert time.monotonic() < deadline, "gunicorn did not replace its workers"
        time.sleep(0.2)
    text = httpx.get(f"{base}/metrics", headers=headers).text
    assert value(text, "fluxolab_http_requests_total", **HEALTH) >= first + 40
    writers = {int(path.stem.rpartition("_")[2]) for path in folder.glob("counter_*.db")}
    assert writers & served_by  # the dead workers' files are still read


def test_gunicorn_answers_401_without_the_token(
    gunicorn: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    base, _folder, _proc = gunicorn
    response = httpx.get(f"{base}/metrics")
    assert response.status_code == 401
    assert isinstance(response.json()["message"], str)
