"""Operator commands of ``fluxolab`` (also ``flask --app wsgi <command>``).

Each is a plain click command that loads the app only when it runs, so ``--help`` works
on a machine with no configuration. ``fluxolab.cli`` attaches them to the console script
and to ``app.cli``.
"""

from __future__ import annotations

import click

from fluxolab.commands.doctor import doctor
from fluxolab.commands.maintenance import (
    backfill_stats,
    enqueue,
    prune,
    purge_auth,
    rotate_credential_key,
    sync_node_catalog,
)
from fluxolab.commands.users import create_user
from fluxolab.commands.workflows import export_workflow, import_workflow

COMMANDS: tuple[click.Command, ...] = (
    create_user,
    doctor,
    prune,
    purge_auth,
    sync_node_catalog,
    enqueue,
    rotate_credential_key,
    backfill_stats,
    export_workflow,
    import_workflow,
)
