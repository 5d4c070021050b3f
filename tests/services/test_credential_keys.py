"""Credential encryption: the Fernet round trip, two keys, and the resumable rotation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask
from sqlalchemy import select

from fluxolab.credentials import service
from fluxolab.credentials.cipher import Cipher, cipher, fingerprint
from fluxolab.credentials.rotation import pending_count, rotate_all
from fluxolab.extensions import db
from fluxolab.models import Credential
from tests.factories import make_account

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
SECRET = {"token": "canary-token-9f8e7d"}


def use_keys(app: Flask, monkeypatch: pytest.MonkeyPatch, keys: str) -> None:
    monkeypatch.setitem(app.config, "CREDENTIALS_ENCRYPTION_KEYS", keys)


def make_credentials(count: int) -> list[uuid.UUID]:
    account = make_account()
    return [
        service.create_credential(
            account.workspace_id,
            account.user_id,
            {"name": f"c{n}", "type": "http-bearer", "secret": {"token": f"token-{n:04d}-xyz"}},
        ).id
        for n in range(count)
    ]


def rows() -> list[Credential]:
    return list(db.session.execute(select(Credential).order_by(Credential.id)).scalars())


def test_round_trip_and_the_token_is_authenticated() -> None:
    box = Cipher(NEW)
    token = box.encrypt(SECRET)
    assert SECRET["token"] not in token
    assert box.decrypt(token) == SECRET
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidToken):
        box.decrypt(tampered)
    with pytest.raises(InvalidToken):
        Cipher(OLD).decrypt(token)


def test_first_key_encrypts_every_key_decrypts() -> None:
    old_token = Cipher(OLD).encrypt(SECRET)
    both = Cipher(f"{NEW}, {OLD}")
    assert both.key_id == fingerprint(NEW) != fingerprint(OLD)
    assert both.decrypt(old_token) == SECRET
    assert Cipher(NEW).decrypt(both.encrypt(SECRET)) == SECRET
    assert NEW not in repr(both) and OLD not in repr(both)


def test_the_stored_row_holds_only_the_token_and_the_key_fingerprint(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keys(app_ctx, monkeypatch, OLD)
    (credential_id,) = make_credentials(1)
    row = db.session.get(Credential, credential_id)
    assert row is not None
    assert row.key_id == fingerprint(OLD)
    assert "token-0000-xyz" not in row.data_encrypted
    assert Cipher(OLD).decrypt(row.data_encrypted) == {"token": "token-0000-xyz"}


def test_rotation_re_encrypts_every_row_then_the_old_key_can_go(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keys(app_ctx, monkeypatch, OLD)
    ids = make_credentials(5)
    use_keys(app_ctx, monkeypatch, f"{NEW},{OLD}")
    # Old rows stay readable while both keys are configured.
    expected = sorted(f"token-{n:04d}-xyz" for n in range(5))
    assert sorted(service.decrypt(row)["token"] for row in rows()) == expected
    assert pending_count() == 5
    report = rotate_all(batch_size=2)
    assert (report.rotated, report.unreadable) == (5, 0)
    assert pending_count() == 0
    assert {row.key_id for row in rows()} == {fingerprint(NEW)}
    use_keys(app_ctx, monkeypatch, NEW)
    tokens = {row.id: service.decrypt(row)["token"] for row in rows()}
    assert sorted(tokens.values()) == expected
    assert set(tokens) == set(ids)


def test_rotation_resumes_after_an_interruption(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keys(app_ctx, monkeypatch, OLD)
    make_credentials(5)
    use_keys(app_ctx, monkeypatch, f"{NEW},{OLD}")

    def crash(_done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate_all(batch_size=2, on_batch=crash)
    db.session.rollback()
    assert pending_count() == 3  # the first batch was committed
    done: list[int] = []
    report = rotate_all(batch_size=2, on_batch=done.append)
    assert report.rotated == 3 and done == [2, 1]  # rows under the new key were skipped
    assert rotate_all().rotated == 0


def test_rows_no_key_can_read_are_counted_not_fatal(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keys(app_ctx, monkeypatch, OLD)
    make_credentials(2)
    use_keys(app_ctx, monkeypatch, NEW)  # the old key was dropped too early
    report = rotate_all()
    assert (report.rotated, report.unreadable) == (0, 2)
    assert "could not be decrypted" in report.line(cipher().key_id)


def test_rotate_command_shows_progress_and_a_summary(
    app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keys(app_ctx, monkeypatch, OLD)
    make_credentials(3)
    use_keys(app_ctx, monkeypatch, f"{NEW},{OLD}")
    runner = app_ctx.test_cli_runner()
    result: Any = runner.invoke(args=["rotate-credential-key", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert f"rotated 3 credential(s) to key {fingerprint(NEW)}" in result.output
    again = runner.invoke(args=["rotate-credential-key"])
    assert "rotated 0 credential(s)" in again.output
    assert OLD not in result.output + again.output and NEW not in result.output
