"""Periodic housekeeping tasks (queue ``maintenance``)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

from fluxolab.audit import service as audit
from fluxolab.auth import purge
from fluxolab.executions import sweeper
from fluxolab.nodes import testing
from fluxolab.settings import alerts
from fluxolab.webhooks import service as webhooks

log = logging.getLogger(__name__)


@shared_task(name="maintenance.purge_auth_records")
def purge_auth_records() -> dict[str, int]:
    """Delete expired password-reset requests and spent sessions/refresh tokens."""
    report = asdict(purge.purge_auth_records())
    log.info("purged auth records: %s", report)
    return report


@shared_task(name="maintenance.sweep_executions")
def sweep_executions() -> dict[str, int]:
    """Re-publish stuck executions and resume due waits and approval timeouts."""
    report = asdict(sweeper.sweep())
    if any(report.values()):
        log.info("execution sweep: %s", report)
    return report


@shared_task(name="maintenance.prune_executions")
def prune_executions() -> int:
    """Delete finished executions past the retention age or count."""
    removed = sweeper.prune()
    log.info("pruned %d executions", removed)
    return removed


@shared_task(name="maintenance.prune_node_tests")
def prune_node_tests() -> dict[str, int]:
    """Delete expired node-test results; fail tests no worker finished within their limit."""
    report = testing.prune()
    if any(report.values()):
        log.info("node tests pruned: %s", report)
    return report


@shared_task(name="maintenance.prune_webhook_logs")
def prune_webhook_logs() -> int:
    """Delete webhook and form call logs older than ``WEBHOOK_LOG_RETENTION_DAYS``."""
    removed = webhooks.prune_logs()
    if removed:
        log.info("pruned %d webhook logs", removed)
    return removed


@shared_task(name="maintenance.evaluate_usage_alerts")
def evaluate_usage_alerts() -> dict[str, int]:
    """Check enabled usage alerts against current usage; record those that fire."""
    report = asdict(alerts.evaluate_alerts())
    if report["fired"]:
        log.info("usage alerts: %s", report)
    return report


@shared_task(name="maintenance.prune_audit")
def prune_audit() -> int:
    """Delete audit-trail entries older than ``AUDIT_RETENTION_DAYS`` (the only deletion)."""
    removed = audit.prune()
    if removed:
        log.info("pruned %d audit entries", removed)
    return removed
