"""Multiprocess mode: what a process that records nothing leaves behind, resets, gauges."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fluxolab.metrics import multiproc

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_worker_app_creates_no_metric_files(tmp_path: Path) -> None:
    """A healthcheck's ``celery inspect ping`` imports the app: it must leave no files."""
    folder = tmp_path / "metrics"
    env = {
        **os.environ,
        "FLUXOLAB_ENV": "test",
        "DATABASE_URL": "sqlite://",
        "CELERY_BROKER_URL": "memory://",
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "PYTHONPATH": str(ROOT),
    }
    code = "import workers, wsgi; from fluxolab.metrics import instruments; print('ok')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert folder.is_dir()  # created, so that a first write cannot fail
    assert list(folder.iterdir()) == []


def test_reset_empties_the_folder_and_creates_it_when_missing(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    multiproc.reset(folder)
    assert folder.is_dir()
    (folder / "counter_1.db").write_bytes(b"x")
    (folder / "nested").mkdir()
    multiproc.reset(folder)
    assert list(folder.iterdir()) == []
