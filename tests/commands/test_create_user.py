"""``fluxolab create-user``: the account, its workspace or membership, and clear refusals."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from fluxolab.auth.passwords import verify_password
from fluxolab.extensions import db
from fluxolab.models import Plan, User, Workspace, WorkspaceMember
from tests.factories import make_account, unique_email

PASSWORD = "S3cure!pass"


def invoke(app: Flask, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=["create-user", *args], input=input)


def membership(user: User) -> list[tuple[Any, str]]:
    rows = db.session.execute(
        select(WorkspaceMember.workspace_id, WorkspaceMember.role).where(
            WorkspaceMember.user_id == user.id
        )
    )
    return [(workspace_id, role) for workspace_id, role in rows]


def user_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def count_users() -> int:
    return int(db.session.execute(select(func.count()).select_from(User)).scalar_one())


def test_creates_a_user_who_owns_a_new_workspace(app: Flask) -> None:
    email = unique_email("Cli")

    result = invoke(app, "--email", email, "--name", "  Ana Lima ", "--password", PASSWORD)

    assert result.exit_code == 0, result.output
    user = user_by_email(email.lower())
    assert user is not None and user.display_name == "Ana Lima"
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)
    assert membership(user) == [(user.default_workspace_id, "owner")]
    assert f"created user {email.lower()} ({user.id}), owner of the new workspace" in result.output
    assert PASSWORD not in result.output


def test_joins_a_named_workspace_as_owner_or_as_the_given_role(app: Flask) -> None:
    owner = make_account()
    workspace = db.session.get(Workspace, owner.workspace_id)
    assert workspace is not None
    first, second = unique_email(), unique_email()

    as_owner = invoke(
        app,
        "--email",
        first,
        "--name",
        "Bo",
        "--workspace",
        workspace.slug,
        "--owner",
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    as_viewer = invoke(
        app,
        "--email",
        second,
        "--name",
        "Cy",
        "--password",
        PASSWORD,
        "--workspace",
        str(workspace.id),
        "--role",
        "viewer",
    )

    assert as_owner.exit_code == 0, as_owner.output
    assert as_viewer.exit_code == 0, as_viewer.output
    bo, cy = user_by_email(first), user_by_email(second)
    assert bo is not None and cy is not None
    assert membership(bo) == [(workspace.id, "owner")]
    assert membership(cy) == [(workspace.id, "viewer")]
    assert bo.default_workspace_id == workspace.id == cy.default_workspace_id
    assert f"owner of the workspace {workspace.name} ({workspace.slug})" in as_owner.output
    assert verify_password(bo.password_hash, PASSWORD)


def test_prompts_for_the_password_twice(app: Flask) -> None:
    email = unique_email()

    result = invoke(app, "--email", email, "--name", "Di", input=f"{PASSWORD}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    user = user_by_email(email)
    assert user is not None and verify_password(user.password_hash, PASSWORD)


def test_a_taken_email_is_an_error_and_writes_nothing(app: Flask) -> None:
    taken = make_account()
    before = count_users()

    result = invoke(
        app, "--email", taken.user.email.upper(), "--name", "Ana", "--password", PASSWORD
    )

    assert result.exit_code == 1
    assert "Error: E-mail ja cadastrado." in result.output
    assert count_users() == before


def test_a_weak_password_is_an_error_naming_the_policy(app: Flask) -> None:
    email = unique_email()

    result = invoke(app, "--email", email, "--name", "Ana", "--password", "weakweakweak")

    assert result.exit_code == 1
    assert "Error: A senha deve ter" in result.output
    assert user_by_email(email) is None


def test_bad_input_and_unknown_workspaces_are_errors(app: Flask) -> None:
    email = unique_email()
    cases = [
        (["--email", "not-an-email", "--name", "Ana", "--password", PASSWORD], "email:"),
        (["--email", email, "--name", "A", "--password", PASSWORD], "displayName:"),
        (
            ["--email", email, "--name", "Ana", "--password", PASSWORD, "--workspace", "nope"],
            "No workspace has the id, slug or name 'nope'.",
        ),
    ]
    before = count_users()

    for args, message in cases:
        result = invoke(app, *args)
        assert result.exit_code == 1, result.output
        assert message in result.output

    both = invoke(app, "--email", email, "--name", "Ana", "--password", "x", "--password-stdin")
    assert both.exit_code == 2 and "not both" in both.output
    assert count_users() == before


def test_a_workspace_without_a_free_seat_refuses_and_writes_nothing(app: Flask) -> None:
    owner = make_account()
    workspace = db.session.get(Workspace, owner.workspace_id)
    assert workspace is not None
    plan = db.session.get(Plan, workspace.plan_id)
    assert plan is not None
    plan.limits = {**(plan.limits or {}), "users": 1}
    db.session.commit()
    email = unique_email()

    result = invoke(
        app,
        "--email",
        email,
        "--name",
        "Eve",
        "--password",
        PASSWORD,
        "--workspace",
        workspace.slug,
    )

    assert result.exit_code == 1
    assert "O plano permite 1 usuarios" in result.output
    assert user_by_email(email) is None


def test_the_same_name_on_several_workspaces_asks_for_a_slug(app: Flask) -> None:
    first, second = make_account(), make_account()
    slugs = [db.session.get(Workspace, a.workspace_id).slug for a in (first, second)]  # type: ignore[union-attr]

    result = invoke(
        app,
        "--email",
        unique_email(),
        "--name",
        "Fay",
        "--password",
        PASSWORD,
        "--workspace",
        "Workspace FluxoLab",
    )

    assert result.exit_code == 1
    assert "workspaces are named 'Workspace FluxoLab'; give one's slug:" in result.output
    assert all(slug in result.output for slug in slugs)
