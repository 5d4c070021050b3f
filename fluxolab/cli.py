"""Command line: the ``fluxolab`` console script and the ``flask`` commands of the app.

The operator commands live in ``fluxolab.commands``; they are attached both to the console
script (so ``fluxolab <command> --help`` works before any configuration exists) and to
``app.cli`` (``flask --app wsgi <command>``, ``app.test_cli_runner()``).
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException

from fluxolab.commands import COMMANDS


def _create_app() -> Flask:
    from fluxolab import create_app

    try:
        return create_app()
    except RuntimeError as exc:  # the configuration refused (config.build_config)
        raise NoAppException(f"FluxoLab configuration: {exc}") from exc


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """FluxoLab: ``fluxolab standalone`` runs everything locally; the other commands work on
    the configured database (environment, or a .env file in the current folder).

    ``fluxolab doctor`` checks the setup; ``fluxolab COMMAND --help`` explains each command.
    """


@main.command("standalone", with_appcontext=False)
@click.option("--host", envvar="FLUXOLAB_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="FLUXOLAB_PORT", default=8000, type=int, show_default=True)
@click.option("--var-dir", envvar="FLUXOLAB_VAR_DIR", default="var", show_default=True)
@click.option("--flower-port", envvar="FLOWER_PORT", default=5555, type=int, show_default=True)
def standalone(host: str, port: int, var_dir: str, flower_port: int) -> None:
    """Run api, worker, beat and Flower on SQLite and the filesystem broker (Ctrl-C stops all)."""
    from fluxolab.standalone import run_standalone

    raise SystemExit(run_standalone(host=host, port=port, var_dir=var_dir, flower_port=flower_port))


for _command in COMMANDS:
    main.add_command(_command)


def register_commands(app: Flask) -> None:
    """Attach the operator commands to ``flask --app wsgi`` (and ``app.test_cli_runner()``)."""
    for command in COMMANDS:
        app.cli.add_command(command)
