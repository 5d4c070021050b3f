"""``doctor``: one PASS / WARN / FAIL line per thing FluxoLab needs; exit 1 on any FAIL."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import ScriptInfo

COLORS = {"PASS": "green", "WARN": "yellow", "FAIL": "red"}


def _line(status: str, name: str, detail: str) -> None:
    click.echo(f"{click.style(status, fg=COLORS[status], bold=True)}  {name:<9} {detail}")


@click.command("doctor")
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check this machine's setup and print one PASS / WARN / FAIL line per item.

    config (mode, secrets set and not the built-in test ones), database (reachable, at the
    migration head), broker (Redis reachable, or the filesystem broker's folders writable),
    sandbox (a real Code node run in bubblewrap with the configured limits), egress (what
    outbound requests may reach) and frontend (the served build, if any). Exit status 1
    when a check fails, else 0 (warnings included). Run it where the workers run too: the
    sandbox depends on the host.
    """
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin set-up lines are noise
    try:
        app = ctx.ensure_object(ScriptInfo).load_app()
    except Exception as exc:  # a configuration error is a RuntimeError, a missing app a UsageError
        message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        _line("FAIL", "config", message)
        click.echo("doctor: the configuration does not load; nothing else was checked")
        raise SystemExit(1) from None
    if not current_app or current_app._get_current_object() is not app:  # type: ignore[attr-defined]
        ctx.with_resource(app.app_context())
    from fluxolab.health.doctor import run_checks

    checks = run_checks()
    for check in checks:
        _line(check.status, check.name, check.detail)
    counts = {status: sum(check.status == status for check in checks) for status in COLORS}
    click.echo(f"doctor: {counts['PASS']} passed, {counts['WARN']} warned, {counts['FAIL']} failed")
    if counts["FAIL"]:
        raise SystemExit(1)
