"""Command line: the ``fluxolab`` console script and the ``flask`` commands of the app."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask
from flask.cli import FlaskGroup


def _create_app() -> Flask:
    from fluxolab import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """FluxoLab: ``fluxolab standalone`` runs everything locally; other commands need the app."""


@main.command("standalone", with_appcontext=False)
@click.option("--host", envvar="FLUXOLAB_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="FLUXOLAB_PORT", default=8000, type=int, show_default=True)
@click.option("--var-dir", envvar="FLUXOLAB_VAR_DIR", default="var", show_default=True)
@click.option("--flower-port", envvar="FLOWER_PORT", default=5555, type=int, show_default=True)
def standalone(host: str, port: int, var_dir: str, flower_port: int) -> None:
    """Run api, worker, beat and Flower on SQLite and the filesystem broker (Ctrl-C stops all)."""
    from fluxolab.standalone import run_standalone

    raise SystemExit(run_standalone(host=host, port=port, var_dir=var_dir, flower_port=flower_port))


def register_commands(app: Flask) -> None:
    """Attach maintenance commands to ``flask --app wsgi`` / ``fluxolab``."""

    @app.cli.command("purge-auth")
    def purge_auth() -> None:
        """Delete expired password-reset requests and spent sessions now."""
        from fluxolab.auth.purge import purge_auth_records

        click.echo(purge_auth_records())

    @app.cli.command("sync-node-catalog")
    def sync_node_catalog() -> None:
        """Fill node_templates and node_categories from the node registry (idempotent)."""
        from fluxolab.nodes.service import sync_node_catalog as sync

        click.echo(sync())

    @app.cli.command("enqueue")
    @click.argument("task_name")
    def enqueue(task_name: str) -> None:
        """Publish a maintenance task by name (e.g. maintenance.purge_auth_records)."""
        from fluxolab.dispatch import enqueue_maintenance

        ok = enqueue_maintenance(task_name)
        click.echo("queued" if ok else "broker unreachable")
        if not ok:
            raise SystemExit(1)

    @app.cli.command("rotate-credential-key")
    @click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
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

    @app.cli.command("backfill-stats")
    @click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
    @click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]))
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
