"""Multiprocess mode: the processes of one host or container write, one scrape sums them.

With ``PROMETHEUS_MULTIPROC_DIR`` set (before ``prometheus_client`` is first imported, so in
the environment of the process), every process keeps its values in memory-mapped files in
that folder and a scrape reads them all (``MultiProcessCollector``). The folder must be
emptied when the group starts (``reset``: a previous run's files would be summed in) and a
dead process's live gauges dropped (``process_exited``). Who does what:

- gunicorn (compose ``api``): ``fluxolab/gunicorn_config.py`` resets in the master before it
  forks and calls ``process_exited`` for each worker that exits;
- a Celery worker with ``WORKER_METRICS_PORT``: resets before its pool starts, serves the
  folder on that port and marks its pool processes dead as they exit (``workers/metrics.py``);
- ``fluxolab standalone``: the supervisor resets the folder it gives the api and the worker.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"


def folder() -> Path | None:
    """The multiprocess folder of this process, or None in single-process mode."""
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


def ensure_folder() -> None:
    """Create the multiprocess folder if it is set and missing (writes would fail without)."""
    path = folder()
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)


def reset(path: Path | None = None) -> None:
    """Empty (or create) the multiprocess folder; call before any process of the group writes."""
    target = path or folder()
    if target is None:
        return
    target.mkdir(parents=True, exist_ok=True)
    for entry in target.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def process_exited(pid: int) -> None:
    """Drop the live gauges of a process of the group that has exited."""
    if folder() is not None:
        multiprocess.mark_process_dead(pid)


def process_registry() -> Any:
    """What a scrape of this host reads: every process's files, or this process's registry."""
    if folder() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
