"""The baseline of ``webhook_intake.py``: a bare Flask endpoint, one INSERT and one publish.

    gunicorn --pythonpath bench _baseline_app:app   (webhook_intake.py starts it)

``POST /hook`` stores the JSON body in ``bench_baseline`` (one ``INSERT`` on a per-thread
psycopg connection in autocommit: one statement, one round trip) and publishes one Celery
task (``send_task`` through Celery's producer pool, JSON, to the ``bench_baseline`` queue
that nobody consumes), then answers 202 ``{"executionId": ...}``. No auth, no rate limit,
no validation, no log row: what any Flask service pays to persist and enqueue a call.
Settings from the environment: ``DATABASE_URL`` (SQLAlchemy form accepted) and
``CELERY_BROKER_URL``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid

import psycopg
from celery import Celery
from flask import Flask, Response, request

DSN = re.sub(r"^postgresql\+\w+://", "postgresql://", os.environ["DATABASE_URL"])
QUEUE = "bench_baseline"
INSERT = "INSERT INTO bench_baseline (id, payload, created_at) VALUES (%s, %s, now())"

app = Flask(__name__)
celery = Celery("baseline", broker=os.environ["CELERY_BROKER_URL"])
celery.conf.update(task_serializer="json", accept_content=["json"], task_default_queue=QUEUE)
_local = threading.local()


def _connection() -> psycopg.Connection[object]:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(DSN, autocommit=True)
    return conn


@app.get("/api/health")
def health() -> Response:
    """Readiness, as the API's health route (the bench waits for it)."""
    return Response('{"status":"ok"}', mimetype="application/json")


@app.post("/hook")
def hook() -> tuple[Response, int]:
    """Store the body, publish one task, answer 202."""
    body = request.get_json(force=True, silent=True)
    new_id = str(uuid.uuid4())
    _connection().execute(INSERT, (new_id, json.dumps(body)))
    celery.send_task("bench.baseline", args=[new_id], queue=QUEUE, retry=False)
    answer = json.dumps({"status": "accepted", "executionId": new_id})
    return Response(answer, mimetype="application/json"), 202
