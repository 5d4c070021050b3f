"""Outgoing e-mail: SMTP when configured; elsewhere than production, a local outbox and the log."""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


def send_mail(to: str, subject: str, text: str) -> bool:
    """Send one plain-text e-mail; failures are logged and reported as ``False``, never raised."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    try:
        if config.get("SMTP_HOST"):
            _send_smtp(message)
        elif config["FLUXOLAB_ENV"] == "production":
            log.error("SMTP_HOST is not set: e-mail %r to %s was not sent", subject, to)
            return False
        else:
            _write_outbox(message, Path(config["MAIL_OUTBOX_DIR"]))
        return True
    except (OSError, smtplib.SMTPException) as exc:
        log.error("could not send e-mail %r to %s: %s", subject, to, exc)
        return False


def _send_smtp(message: EmailMessage) -> None:
    config = current_app.config
    host, port, security = config["SMTP_HOST"], int(config["SMTP_PORT"]), config["SMTP_SECURITY"]
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if security == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=10, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=10)
    with smtp:
        if security == "starttls":
            smtp.starttls(context=context)
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)


def _write_outbox(message: EmailMessage, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}.eml"
    path.write_bytes(bytes(message))
    log.info(
        "e-mail to %s written to %s (no SMTP_HOST set):\n%s",
        message["To"],
        path,
        message.get_content(),
    )
