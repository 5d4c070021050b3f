"""E-mail tasks (queue ``maintenance``): messages carry ids, the worker makes the content."""

from __future__ import annotations

import uuid

from celery import shared_task

from fluxolab.auth import reset


@shared_task(name="mail.send_reset_code", acks_late=True)
def send_reset_code(request_id: str) -> bool:
    """Make, store (hashed) and e-mail the code of a password-reset request, at most once."""
    return reset.deliver_code(uuid.UUID(request_id))
