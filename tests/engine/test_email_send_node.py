"""Send Email against a real aiosmtpd server on loopback, through the egress guard."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from fluxolab.egress import Egress, EgressPolicy
from fluxolab.engine import RunContext, run_node
from fluxolab.engine.credentials import Credential
from fluxolab.engine.records import StepRecord
from tests.engine.fakes import (
    SMTP_PASSWORD,
    SMTP_USER,
    Credentials,
    SmtpFake,
    TlsFiles,
    free_port,
    loopback_egress,
    smtp_credential,
    smtp_server,
    start_smtp,
    tls_files,
)
from tests.engine.helpers import items, jsons, node

__all__ = ["smtp_server", "tls_files"]  # fixtures used below

MakeCtx = Callable[..., RunContext]


def email(**params: Any) -> dict[str, Any]:
    base = {"credentialId": "smtp-1", "to": "ana@example.test", "subject": "Hi", "body": "Hello"}
    return node("mail", "email-send", **{**base, **params})


def send(
    make_ctx: MakeCtx,
    node_def: dict[str, Any],
    credential: Credential,
    input_items: list[dict[str, Any]] | None = None,
    **services: Any,
) -> StepRecord:
    ctx = make_ctx(
        services={"egress": loopback_egress(), "credentials": Credentials(credential), **services}
    )
    return run_node(node_def, input_items or items({}), ctx)


def sent(step: StepRecord) -> list[Any]:
    assert step.status == "succeeded", step.error
    return jsons(step.output["main"])


def failed(step: StepRecord) -> str:
    assert step.status == "failed", step.output
    assert step.error is not None
    return str(step.error["message"])


def test_sends_one_message_per_item_with_rendered_fields(
    make_ctx: MakeCtx, smtp_server: SmtpFake
) -> None:
    node_def = email(
        to="{{ $json.address }}", subject="Order {{ $json.id }}", body="Dear {{ $json.name }}"
    )
    source = items(
        {"address": "ana@example.test", "id": 1, "name": "Ana"},
        {"address": "Bob <bob@example.test>", "id": 2, "name": "Bob"},
    )
    outputs = sent(send(make_ctx, node_def, smtp_credential(smtp_server.port), source))
    assert source[0]["json"] == {"address": "ana@example.test", "id": 1, "name": "Ana"}
    assert [o["accepted"] for o in outputs] == [["ana@example.test"], ["bob@example.test"]]
    assert all(o["rejected"] == [] for o in outputs)
    first, second = smtp_server.delivered
    assert first.message["Subject"] == "Order 1"
    assert first.message.get_payload(decode=True).decode().strip() == "Dear Ana"
    assert second.message["To"] == "Bob <bob@example.test>"
    assert outputs[0]["messageId"] == first.message["Message-ID"]
    assert first.mail_from == SMTP_USER  # the credential's user is the default sender
    assert smtp_server.logins == [f"PLAIN:{SMTP_USER}"]  # one login, the session is reused


def test_cc_bcc_reply_to_and_refused_recipients(make_ctx: MakeCtx, smtp_server: SmtpFake) -> None:
    node_def = email(
        to=["ana@example.test", "nobody@example.test"],
        cc="carl@example.test; dora@example.test",
        bcc="eve@example.test",
        replyTo="desk@example.test",
        **{"from": "Shop <shop@example.test>"},
    )
    step = send(make_ctx, node_def, smtp_credential(smtp_server.port))
    (output,) = sent(step)
    assert output["rejected"] == ["nobody@example.test"]
    assert output["accepted"] == [
        "ana@example.test",
        "carl@example.test",
        "dora@example.test",
        "eve@example.test",
    ]
    (delivered,) = smtp_server.delivered
    assert delivered.mail_from == "shop@example.test"
    assert delivered.message["Cc"] == "carl@example.test, dora@example.test"
    assert delivered.message["Bcc"] is None  # blind copies are only in the envelope
    assert delivered.message["Reply-To"] == "desk@example.test"
    assert any("nobody@example.test refused: 550" in line for line in step.logs)


def test_text_and_html_make_multipart_alternative(make_ctx: MakeCtx, smtp_server: SmtpFake) -> None:
    sent(send(make_ctx, email(body="Plain", html="<p>Rich</p>"), smtp_credential(smtp_server.port)))
    message = smtp_server.delivered[0].message
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.get_payload()]
    assert parts == ["text/plain", "text/html"]


def test_body_format_html_sends_the_body_as_html(make_ctx: MakeCtx, smtp_server: SmtpFake) -> None:
    sent(
        send(
            make_ctx, email(body="<b>Hi</b>", bodyFormat="html"), smtp_credential(smtp_server.port)
        )
    )
    assert smtp_server.delivered[0].message.get_content_type() == "text/html"


def test_smtp_send_alias_runs_the_original_params(make_ctx: MakeCtx, smtp_server: SmtpFake) -> None:
    legacy = node(
        "mail",
        "smtp.send",
        credentialId="smtp-1",
        to="ana@example.test",
        subject="Legacy",
        text="Old engine",
        html="<i>Old engine</i>",
    )
    step = send(make_ctx, legacy, smtp_credential(smtp_server.port))
    assert step.node_type == "email-send"
    sent(step)
    message = smtp_server.delivered[0].message
    assert message["Subject"] == "Legacy"
    assert message.get_content_type() == "multipart/alternative"


def test_a_wrong_password_is_a_readable_step_error_without_the_password(
    make_ctx: MakeCtx, smtp_server: SmtpFake
) -> None:
    credential = smtp_credential(smtp_server.port, password="wrong-password-123")
    step = send(make_ctx, email(), credential)
    message = failed(step)
    assert message.startswith("SMTP server refused the login: 535")
    assert "wrong-password-123" not in repr(step)
    assert smtp_server.delivered == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"subject": "Hi\r\nBcc: victim@example.test"}, "Field 'subject': line breaks"),
        ({"to": "ana@example.test\nBcc: victim@example.test"}, "Field 'to': line breaks"),
        ({"to": "not an address"}, "Field 'to': 'not an address' is not an e-mail address"),
        ({"from": "a@example.test, b@example.test"}, "Field 'from': give only one sender"),
        ({"to": ""}, "Field 'to': give at least one recipient"),
        ({"to": "{{ $json.nothing }}"}, "Required field 'to' is missing"),
        ({"timeoutMs": "{{ 'soon' }}"}, "Field 'timeoutMs': 'soon' is not of type 'integer'"),
    ],
    ids=["subject-crlf", "to-lf", "bad-address", "two-senders", "no-recipient", "null", "type"],
)
def test_bad_fields_fail_before_anything_is_sent(
    make_ctx: MakeCtx, smtp_server: SmtpFake, params: dict[str, Any], expected: str
) -> None:
    message = failed(send(make_ctx, email(**params), smtp_credential(smtp_server.port)))
    assert message.startswith(expected), message
    assert smtp_server.delivered == []


def test_every_recipient_refused_fails_the_step(make_ctx: MakeCtx, smtp_server: SmtpFake) -> None:
    step = send(make_ctx, email(to="nobody@example.test"), smtp_credential(smtp_server.port))
    assert failed(step) == (
        "SMTP server refused every recipient: nobody@example.test (550 5.1.1 No such user here)"
    )


def test_missing_and_wrong_credentials_name_the_node(make_ctx: MakeCtx) -> None:
    other = Credential("smtp-1", "Key", "http-bearer", {"token": "x"}, ())
    assert failed(send(make_ctx, email(), other)) == (
        "Node 'mail': credential 'Key' is of type http-bearer, expected smtp"
    )
    assert failed(send(make_ctx, email(credentialId="gone"), other)) == (
        "Node 'mail': credential gone was not found"
    )


def test_a_closed_port_is_a_readable_error(make_ctx: MakeCtx) -> None:
    message = failed(send(make_ctx, email(), smtp_credential(free_port())))
    assert "127.0.0.1" in message and SMTP_PASSWORD not in message


def test_an_unresponsive_server_times_out_per_message(make_ctx: MakeCtx) -> None:
    with socket.socket() as silent:  # accepts connections, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        credential = smtp_credential(silent.getsockname()[1])
        message = failed(send(make_ctx, email(timeoutMs=300), credential))
    assert (
        message == f"SMTP server 127.0.0.1:{credential.secret['port']} did not answer within 0.3 s"
    )


def test_a_host_outside_the_allow_list_is_refused_by_the_guard(
    make_ctx: MakeCtx, smtp_server: SmtpFake
) -> None:
    ctx = make_ctx(
        services={
            "egress": Egress(EgressPolicy()),  # the public internet only: loopback is refused
            "credentials": Credentials(smtp_credential(smtp_server.port)),
        }
    )
    step = run_node(email(), items({}), ctx)
    assert step.status == "failed"
    assert step.error is not None and step.error["type"] == "EgressDenied"
    assert smtp_server.delivered == []


def test_starttls_upgrades_and_verifies_the_certificate_against_the_configured_ca(
    make_ctx: MakeCtx, tls_files: TlsFiles
) -> None:
    fake, controller = start_smtp("starttls", tls_files)
    try:
        step = send(make_ctx, email(), smtp_credential(fake.port), smtp_ca_file=tls_files.ca_file)
        sent(step)
    finally:
        controller.stop()
    (delivered,) = fake.delivered
    assert delivered.tls is True
    assert delivered.logins == [f"PLAIN:{SMTP_USER}"]


def test_implicit_tls_is_used_when_the_credential_says_secure(
    make_ctx: MakeCtx, tls_files: TlsFiles
) -> None:
    fake, controller = start_smtp("tls", tls_files)
    try:
        step = send(
            make_ctx,
            email(),
            smtp_credential(fake.port, secure=True),
            smtp_ca_file=tls_files.ca_file,
        )
        sent(step)
        assert fake.delivered[0].tls is True
    finally:
        controller.stop()


def test_an_untrusted_certificate_is_refused(make_ctx: MakeCtx, tls_files: TlsFiles) -> None:
    fake, controller = start_smtp("starttls", tls_files)
    try:
        message = failed(send(make_ctx, email(), smtp_credential(fake.port)))  # no CA given
    finally:
        controller.stop()
    assert message.startswith("TLS certificate of SMTP server 127.0.0.1:")
    assert fake.delivered == []


def test_require_tls_refuses_a_server_without_starttls(
    make_ctx: MakeCtx, smtp_server: SmtpFake
) -> None:
    message = failed(send(make_ctx, email(requireTls=True), smtp_credential(smtp_server.port)))
    assert "does not offer STARTTLS" in message
    assert smtp_server.delivered == []


def test_auth_login_mechanism_is_used_when_plain_is_not_offered(make_ctx: MakeCtx) -> None:
    fake, controller = start_smtp(auth_exclude_mechanism=["PLAIN"])
    try:
        sent(send(make_ctx, email(), smtp_credential(fake.port)))
    finally:
        controller.stop()
    assert fake.logins == [f"LOGIN:{SMTP_USER}"]


def test_output_and_logs_never_hold_the_password(make_ctx: MakeCtx, smtp_server: SmtpFake) -> None:
    step = send(
        make_ctx, email(body="{{ $json.x }}"), smtp_credential(smtp_server.port), items({"x": 1})
    )
    sent(step)
    assert SMTP_PASSWORD not in repr(step.output) + repr(step.logs)
