"""``create-user``: an account made by the operator, with its own workspace or in one."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from fluxolab.commands.common import clear_errors

JOIN_ROLES = ("admin", "editor", "viewer")


def _read_password(password: str | None, from_stdin: bool) -> str:
    if password is not None and from_stdin:
        raise click.UsageError("give --password or --password-stdin, not both")
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise click.UsageError("--password-stdin: no password on standard input")
        return line.rstrip("\r\n")
    if password is not None:
        return password
    entered: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return entered


@click.command("create-user")
@click.option("--email", required=True, help="Login e-mail (stored lower-case).")
@click.option("--name", "display_name", required=True, help="Display name (2-190 characters).")
@click.option(
    "--password",
    help="The password (visible to other users of this machine in the process list; "
    "prefer the prompt or --password-stdin).",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.option(
    "--workspace",
    metavar="ID|SLUG|NAME",
    help="Join this existing workspace instead of getting a new one.",
)
@click.option("--owner", is_flag=True, help="With --workspace: join as an owner (else as --role).")
@click.option(
    "--role",
    type=click.Choice(JOIN_ROLES),
    default="editor",
    show_default=True,
    help="With --workspace: the role to join as.",
)
@with_appcontext
def create_user(
    email: str,
    display_name: str,
    password: str | None,
    password_stdin: bool,
    workspace: str | None,
    owner: bool,
    role: str,
) -> None:
    """Create a user (argon2id hash, the sign-up password policy) without the invite code.

    Without --workspace the user gets a new workspace of their own, as its owner, as signing
    up does. With --workspace they join that workspace as --role, or as an owner with
    --owner, within its plan's seat limit. A taken e-mail, a weak password or an unknown
    workspace is an error (exit status 1) and nothing is written.
    """
    from fluxolab.auth import service
    from fluxolab.auth.schemas import RegisterIn
    from fluxolab.workspaces import service as workspaces

    secret = _read_password(password, password_stdin)
    with clear_errors():
        fields = RegisterIn(only=("email", "password", "displayName")).load(
            {"email": email, "password": secret, "displayName": display_name}
        )
        target = workspaces.find_workspace(workspace) if workspace else None
        user = service.create_user(
            fields["email"],
            fields["password"],
            fields["displayName"],
            workspace=target,
            role="owner" if owner or target is None else role,
        )
    if target is None:
        click.echo(
            f"created user {user.email} ({user.id}), "
            f"owner of the new workspace {user.default_workspace_id}"
        )
    else:
        click.echo(
            f"created user {user.email} ({user.id}), "
            f"{'owner' if owner else role} of the workspace {target.name} ({target.slug})"
        )
