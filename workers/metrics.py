"""A Celery worker's own metrics port (``WORKER_METRICS_PORT``; 0, the default: none).

Tasks run in the worker's pool processes (prefork) or in the worker itself (solo); with
``PROMETHEUS_MULTIPROC_DIR`` set, each writes its own files in that folder, and the port
serves their sum. The worker empties the folder before its pool starts (one folder per
worker container) and drops a pool process's live gauges when it exits. Under
``fluxolab standalone`` the port stays off: the api's ``/metrics`` reads the worker's folder.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import worker_init, worker_process_shutdown, worker_ready
from flask import Flask
from prometheus_client import start_http_server

from fluxolab.metrics import multiproc

log = logging.getLogger(__name__)


def _port(app: Flask) -> int:
    return int(app.config["WORKER_METRICS_PORT"])


def connect(app: Flask) -> None:
    """Connect the worker signals that prepare and serve this worker's metrics."""

    @worker_init.connect(weak=False)
    def _prepare(**_: Any) -> None:
        if _port(app):
            multiproc.reset()

    @worker_ready.connect(weak=False)
    def _serve(**_: Any) -> None:
        port = _port(app)
        if not port:
            return
        address = str(app.config["WORKER_METRICS_ADDRESS"])
        if multiproc.folder() is None:
            log.warning("worker metrics: no PROMETHEUS_MULTIPROC_DIR, pool processes are missing")
        start_http_server(port, addr=address, registry=multiproc.process_registry())
        log.info("worker metrics: serving http://%s:%d/metrics", address, port)

    @worker_process_shutdown.connect(weak=False)
    def _exited(**_: Any) -> None:
        multiproc.process_exited(os.getpid())
