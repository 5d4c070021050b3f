"""gunicorn hooks for multiprocess metrics: ``gunicorn --config python:fluxolab.gunicorn_config``.

The master empties ``PROMETHEUS_MULTIPROC_DIR`` before it forks any worker (files of an
earlier run would be summed in), and drops the live gauges of each worker that exits. Every
worker then writes its own files, and ``GET /metrics`` on any of them sums them all. Without
``PROMETHEUS_MULTIPROC_DIR`` both hooks do nothing (each worker reports only itself).
"""

from __future__ import annotations

from typing import Any

from fluxolab.metrics import multiproc


def on_starting(_server: Any) -> None:
    """Before the first worker is forked: start from an empty metrics folder."""
    multiproc.reset()


def child_exit(_server: Any, worker: Any) -> None:
    """A worker exited (or was killed): its live gauges no longer count."""
    multiproc.process_exited(worker.pid)
