"""The webhook side of the benchmarks: an API with an active public webhook, shared by
``webhook_intake.py`` and ``chaos.py``.

``WebhookStack`` is ``executions.py``'s ``Stack`` (gunicorn, Celery workers, the bench
database) with the rate limiter on in Redis (limits raised far above the load), an account,
and a workflow started by a ``webhook`` node whose token the bench reads back.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx
from _support import RUN_INPUT, WORKFLOW, post_request
from cryptography.fernet import Fernet
from executions import HOST, Stack, _expect

# The 5-node workflow, started by a webhook: the item is the request, so the
# expressions read the posted body (``$json.body.n``) instead of the manual input.
WEBHOOK_WORKFLOW: dict[str, Any] = json.loads(
    json.dumps(WORKFLOW).replace('"{{ $json.n }}"', '"{{ $json.body.n }}"')
)
WEBHOOK_WORKFLOW["nodes"][0] = {
    "id": "t",
    "type": "webhook",
    "params": {"path": "bench", "method": "POST", "authentication": "none"},
}
RATE_LIMIT = "10000000"  # per minute: far above what the box sends, so every call is counted


class WebhookStack(Stack):
    """The API with the rate limiter on (in Redis, limits raised), and an active webhook."""

    workflow: dict[str, Any] = WEBHOOK_WORKFLOW
    workflow_name = "bench: webhook, 5 nodes"

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        super().__init__(args, work)
        self.hook_token = ""

    def child_env(self, application: str) -> dict[str, str]:
        """``executions.py``'s production settings, with the webhook rate limits counted."""
        env = super().child_env(application)
        env.update(
            RATELIMIT_ENABLED="true",
            RATELIMIT_STORAGE_URI=self.broker,
            WEBHOOK_RATE_LIMIT_PER_MINUTE=RATE_LIMIT,
            WEBHOOK_IP_RATE_LIMIT_PER_MINUTE=RATE_LIMIT,
        )
        return env

    def setup_account(self) -> None:
        """Register, lift the plan's limits, create and activate the webhook workflow."""
        with httpx.Client(base_url=f"http://{HOST}:{self.port}/api", timeout=30) as client:
            self.register_and_login(client, prefix="bench-hook")
            self.lift_plan_limits()
            headers = {"Authorization": f"Bearer {self.token}"}
            created = client.post(
                "/workflows",
                json={"name": self.workflow_name, "definition": self.workflow},
                headers=headers,
            )
            _expect(created, 201)
            self.workflow_id = created.json()["workflow"]["id"]
            activated = client.patch(
                f"/workflows/{self.workflow_id}/status", json={"active": True}, headers=headers
            )
            _expect(activated, 200)
        # The token as an editor reads it: kept encrypted under the credentials key.
        (encrypted,) = self.query(
            "SELECT token_encrypted FROM webhooks WHERE workflow_id = %s", (self.workflow_id,)
        )[0]
        secret = Fernet(self.keys["fernet"].encode()).decrypt(encrypted.encode())
        self.hook_token = json.loads(secret)["token"]

    def run_request(self) -> bytes:
        """The raw public webhook call (no auth header: the webhook's mode is ``none``)."""
        path = f"/api/webhooks/execute/{self.hook_token}"
        return post_request(HOST, self.port, path, "", json.dumps(RUN_INPUT).encode())

    def stop_workers(self) -> None:
        """Stop the Celery workers (the intake phase runs without them)."""
        for worker in self.workers:
            worker.stop()
        self.workers = []


def run_stack(stack: Stack, body: Any) -> Any:
    """Run ``body(stack)``; the servers are stopped and the database dropped in every case."""
    try:
        return body(stack)
    except (SystemExit, KeyboardInterrupt):
        for child in (stack.api, *stack.workers):
            if child is not None:
                print(f"--- {child.name} log ---\n{child.tail()}", file=sys.stderr)
        print(f"bench: logs kept in {stack.work}", file=sys.stderr)
        raise
    finally:
        stack.close()
