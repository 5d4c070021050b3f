"""The web side's only link to the workers: enqueue tasks by stable name, after commit.

Call these only after the transaction that created the referenced rows has committed, so
a worker never receives an id it cannot read. Messages carry ids, never secrets.
"""

from __future__ import annotations

import logging
import uuid
from functools import lru_cache
from typing import Any

from flask import current_app
from kombu import serialization

from fluxolab import broker, requestid

log = logging.getLogger(__name__)


def send(task_name: str, *args: Any, countdown: float | None = None) -> bool:
    """Publish a task; return ``False`` (logged) when the broker cannot be reached.

    Callers that persisted the work first (executions) rely on the beat sweeper to
    re-publish what could not be sent, so a broker outage does not lose accepted work.
    """
    celery = current_app.extensions["celery"]
    try:
        with celery.pool.acquire(block=True) as connection:
            connection.ensure_connection(max_retries=0)  # one attempt: fail fast, no back-off
            celery.send_task(
                task_name,
                args=list(args),
                argsrepr=repr(list(args)),  # ids only: Celery's bounded saferepr is not needed
                kwargsrepr="{}",
                countdown=countdown,
                retry=False,
                connection=connection,
            )
    except Exception as exc:  # kombu raises transport-specific connection errors
        log.warning("could not publish %s%r: %s", task_name, args, exc)
        return False
    return True


def send_runs(execution_ids: list[str]) -> bool:
    """Publish ``executions.run`` for each committed execution, with one broker round trip.

    The messages are Celery's own (``amqp.as_task_v2``, serialized and prepared by kombu);
    on the Redis broker they go out in one pipeline (``broker.push``), elsewhere one by
    one through :func:`send`. ``False`` (logged) when the broker cannot be reached: the
    beat sweeper publishes them later.
    """
    if not execution_ids:
        return True
    celery = current_app.extensions["celery"]
    name = "executions.run"
    queue = _direct_queue(name)
    try:
        with celery.pool.acquire(block=True) as connection:
            connection.ensure_connection(max_retries=0)
            channel = connection.default_channel
            if queue is not None:
                messages = [_message(celery, channel, name, run_id) for run_id in execution_ids]
                if broker.push(channel, queue, messages):
                    return True
    except Exception as exc:  # kombu raises transport-specific connection errors
        log.warning("could not publish %s for %d runs: %s", name, len(execution_ids), exc)
        return False
    return all([send(name, run_id) for run_id in execution_ids])


@lru_cache(maxsize=8)
def _direct_queue(task_name: str) -> str | None:
    """The queue a task is routed to, when its route is a direct exchange keyed by its name."""
    route = current_app.extensions["celery"].amqp.router.route({}, task_name)
    queue = route.get("queue")
    exchange = getattr(queue, "exchange", None)
    if queue is None or exchange is None or exchange.type != "direct":
        return None
    if route.get("routing_key", queue.routing_key) != queue.routing_key:
        return None
    return str(queue.name)


def _message(celery: Any, channel: Any, name: str, run_id: str) -> dict[str, Any]:
    """One task message as ``send_task`` would build it (args: the execution id)."""
    task_id = str(uuid.uuid4())
    args = [run_id]
    task = celery.amqp.as_task_v2(
        task_id,
        name,
        args=args,
        kwargs={},
        argsrepr=repr(args),
        kwargsrepr="{}",
        ignore_result=None,  # as send_task: the task's own setting decides
    )
    content_type, encoding, body = serialization.dumps(task.body, "json")
    headers = {**task.headers, **requestid.publish_headers()}
    properties = {
        **task.properties,
        "reply_to": celery.thread_oid,
        "delivery_mode": 2,  # persistent, as kombu's producer sets it
        "delivery_info": {},
    }
    return dict(channel.prepare_message(body, 0, content_type, encoding, headers, properties))


def enqueue_maintenance(task_name: str) -> bool:
    """Run a ``maintenance.*`` task now (operators, tests, the standalone smoke test)."""
    if not task_name.startswith("maintenance."):
        raise ValueError(f"not a maintenance task: {task_name}")
    return send(task_name)


def enqueue_node_test(test_id: uuid.UUID) -> bool:
    """Publish ``nodes.test`` (queue ``node_tests``); ``False`` when the broker is down."""
    return send("nodes.test", str(test_id))
