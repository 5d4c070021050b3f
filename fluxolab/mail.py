"""Outgoing e-mail: SMTP when configured; elsewhere than production, a private local outbox."""

from __future__ import annotations

import logging
import os
import secrets
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
    """Write the mail as a private ``.eml`` file (0600 in a 0700 folder); log only that it did.

    The body carries reset codes and invitation tokens: it never goes to a log line, in any
    mode. A developer reads it from the file.
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    path = folder / f"{time.time_ns()}-{secrets.token_hex(4)}.eml"  # sorts by time, never clashes
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(bytes(message))
    log.info(
        "e-mail %r to %s written to %s (no SMTP_HOST set)", message["Subject"], message["To"], path
    )
