"""Housekeeping commands: retention, auth purge, catalog sync, key rotation, stats backfill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import click
from flask.cli import with_appcontext


@click.command("purge-auth")
@with_appcontext
def purge_auth() -> None:
    """Delete expired password-reset requests and spent sessions now."""
    from fluxolab.auth.purge import purge_auth_records

    click.echo(purge_auth_records())


@click.command("sync-node-catalog")
@with_appcontext
def sync_node_catalog() -> None:
    """Fill node_templates and node_categories from the node registry (idempotent)."""
    from fluxolab.nodes.service import sync_node_catalog as sync

    click.echo(sync())


@click.command("enqueue")
@click.argument("task_name")
@with_appcontext
def enqueue(task_name: str) -> None:
    """Publish a maintenance task by name (e.g. maintenance.purge_auth_records)."""
    from fluxolab.dispatch import enqueue_maintenance

    ok = enqueue_maintenance(task_name)
    click.echo("queued" if ok else "broker unreachable")
    if not ok:
        raise SystemExit(1)


@click.command("rotate-credential-key")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def rotate_credential_key(batch_size: int) -> None:
    """Re-encrypt every credential with the first CREDENTIALS_ENCRYPTION_KEYS key.

    Resumable: rows already under the first key are skipped. Remove an old key from the
    setting only after a run that leaves nothing to rotate.
    """
    from fluxolab.credentials.cipher import cipher
    from fluxolab.credentials.rotation import pending_count, rotate_all

    total = pending_count()
    with click.progressbar(length=total, label="Re-encrypting credentials") as bar:
        report = rotate_all(batch_size, on_batch=bar.update)
    click.echo(report.line(cipher().key_id))
    if report.unreadable:
        raise SystemExit(1)


@click.command("backfill-stats")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]))
@with_appcontext
def backfill_stats(first: datetime, last: datetime) -> None:
    """Rebuild execution_stats day by day from --from to --to (local dates, inclusive)
    for every time zone in use; days not over yet are skipped."""
    from fluxolab.stats.rollup import backfill

    if first > last:
        raise click.BadParameter("--from must not be after --to", param_hint="--from")
    days = (last.date() - first.date()).days + 1
    with click.progressbar(length=days, label="Rolling execution stats") as bar:
        rolled = backfill(first.date(), last.date(), on_day=bar.update)
    click.echo(f"rolled {rolled} (time zone, day) pairs over {days} days")


def _retention_steps() -> list[tuple[str, Callable[[], dict[str, int]]]]:
    """The beat's retention jobs, in the order ``prune`` runs them, each reporting counts."""
    from dataclasses import asdict

    from fluxolab.audit import service as audit
    from fluxolab.auth.purge import purge_auth_records
    from fluxolab.executions import sweeper
    from fluxolab.nodes import testing
    from fluxolab.schedules import scheduler
    from fluxolab.webhooks import service as webhooks

    return [
        ("executions", lambda: {"deleted": sweeper.prune()}),
        ("webhook logs", lambda: {"deleted": webhooks.prune_logs()}),
        ("node tests", testing.prune),
        ("schedule fires", lambda: {"deleted": scheduler.prune_fires()}),
        ("auth records", lambda: asdict(purge_auth_records())),
        ("audit entries", lambda: {"deleted": audit.prune()}),
    ]


@click.command("prune")
@with_appcontext
def prune() -> None:
    """Run every retention job now and print what each deleted.

    Finished executions past EXECUTION_RETENTION_DAYS or EXECUTION_RETENTION_MAX_PER_WORKSPACE
    (only days the stats rollup has sealed), webhook and form call logs past
    WEBHOOK_LOG_RETENTION_DAYS, expired node tests (and tests no worker finished), schedule
    fire records past EXECUTION_RETENTION_DAYS, expired reset requests, refresh tokens and
    ended sessions, audit entries past AUDIT_RETENTION_DAYS. The same jobs beat runs hourly;
    safe to run while it does.
    """
    steps = _retention_steps()
    results: list[tuple[str, dict[str, int]]] = []
    with click.progressbar(
        steps,
        label="Pruning",
        item_show_func=lambda step: step[0] if step else None,
    ) as bar:
        for name, run in bar:
            results.append((name, run()))
    for name, counts in results:
        shown = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in counts.items())
        click.echo(f"{name}: {shown}")
