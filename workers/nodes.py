"""Single-node tests (queue ``node_tests``): a thin wrapper around the node-test service."""

from __future__ import annotations

import logging
import time
import uuid

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from fluxolab.metrics import instruments
from fluxolab.nodes import testing
from workers.executions import time_limits

log = logging.getLogger(__name__)
# The engine interrupts the node at NODE_TEST_TIMEOUT_SECONDS (its timeoutMs); the task's
# own limits are the backstop for the rest (claim, storing, a node that defers interrupts).
SOFT_GRACE_S = 2.0
HARD_GRACE_S = 5.0  # past the soft limit, a test that swallowed it ends the worker process


@shared_task(name="nodes.test", bind=True, acks_late=True, reject_on_worker_lost=True)
def test(self: Task, test_id: str) -> str:
    """Claim and run one node test; duplicate deliveries are no-ops (the claim decides).

    The node-test time limit (``NODE_TEST_TIMEOUT_SECONDS``) interrupts the node wherever it
    is (the engine's node timeout), in solo and prefork workers alike, and the test fails
    with a readable error; the task's soft and hard limits a little later are the backstop.
    """
    node_test_id = uuid.UUID(test_id)
    limit = float(current_app.config["NODE_TEST_TIMEOUT_SECONDS"])
    started = time.perf_counter()
    soft = limit + SOFT_GRACE_S
    with time_limits(soft, soft + HARD_GRACE_S, in_every_pool=True) as soft_limit:
        try:
            with soft_limit:
                outcome = testing.run_test(node_test_id)
        except SoftTimeLimitExceeded:
            message = f"O teste do no excedeu o tempo limite de {limit:g} s."
            testing.fail_running(node_test_id, message, "timeout")
            outcome = "timed_out"
        except Exception:
            log.exception("node test %s failed inside the worker", test_id)
            testing.fail_running(node_test_id, "Erro interno do worker ao testar o no.", "internal")
            outcome = "failed"
    instruments.node_test_finished(outcome, time.perf_counter() - started)
    log.info("node test %s: %s", test_id, outcome)
    return outcome
