"""No code outside the egress guard opens an outbound connection itself (fluxolab.egress docs).

A source scan: calls that open a connection (socket, httpx clients and helpers, urllib,
http.client, smtplib instantiation, other HTTP libraries) appear only in ``fluxolab/egress``.
SMTP clients subclass ``smtplib.SMTP`` and take their socket from ``Egress.connect``, which
this scan allows (``class GuardedSMTP(smtplib.SMTP)`` does not call it). Two modules are
exempt: their destinations come from the operator's configuration, never from users.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("fluxolab", "workers")
EXEMPT = {
    "fluxolab/mail.py": "system mail to the operator's SMTP_HOST",
    "fluxolab/standalone.py": "the launcher probing the local processes it started",
    "fluxolab/completion.py": "local Unix datagram sockets waking waiters on this host",
}
OPENERS = re.compile(
    r"""
      \bsocket\.(?:create_connection|socket|socketpair|fromfd)\s*\(
    | \bfrom\s+socket\s+import\s+[^\n]*\b(?:create_connection|socket)\b
    | \bhttpx\.(?:Client|AsyncClient|HTTPTransport|AsyncHTTPTransport)\s*\(
    | \bhttpx\.(?:get|post|put|patch|delete|head|options|request|stream)\s*\(
    | \bfrom\s+httpx\s+import\s+[^\n]*\b(?:Client|AsyncClient|get|post|request|stream)\b
    | \burlopen\s*\(
    | \bhttp\.client\.HTTPS?Connection\s*\(
    | \bHTTPS?Connection\s*\(
    | \bsmtplib\.(?:SMTP|SMTP_SSL|LMTP)\s*\(
    | (?<![\w.])(?:SMTP|SMTP_SSL|LMTP)\s*\(
    | ^\s*(?:import|from)\s+(?:requests|urllib3|aiohttp|pycurl|httpcore|ftplib|telnetlib)\b
    """,
    re.VERBOSE | re.MULTILINE,
)


def sources() -> list[Path]:
    """Return every Python file that must not open connections itself."""
    files = [path for entry in SCANNED for path in sorted((ROOT / entry).rglob("*.py"))]
    return [
        path
        for path in files
        if not path.relative_to(ROOT).as_posix().startswith("fluxolab/egress/")
        and path.relative_to(ROOT).as_posix() not in EXEMPT
    ]


def test_scan_covers_the_packages() -> None:
    scanned = {path.relative_to(ROOT).as_posix() for path in sources()}
    assert "fluxolab/engine/call.py" in scanned
    assert "fluxolab/egress/client.py" not in scanned


@pytest.mark.parametrize(
    "line",
    [
        "sock = socket.create_connection((host, port))",
        "with httpx.Client() as client:",
        "httpx.get(url)",
        "from httpx import Client",
        "urllib.request.urlopen(url)",
        "conn = http.client.HTTPSConnection(host)",
        "smtp = smtplib.SMTP(host, port)",
        "smtp = SMTP_SSL(host)",
        "import requests",
        "import httpcore",
    ],
)
def test_scan_recognises_a_connection_opened_directly(line: str) -> None:
    assert OPENERS.search(line)


@pytest.mark.parametrize(
    "line",
    [
        "class GuardedSMTP(smtplib.SMTP):",
        "sock = call.egress.connect(host, port, timeout)",
        "response = call.egress.request('GET', url)",
        "except httpx.HTTPError:",
        "from urllib.parse import urlencode",
    ],
)
def test_scan_allows_guarded_use(line: str) -> None:
    assert not OPENERS.search(line)


def test_no_module_outside_the_guard_opens_a_connection() -> None:
    found = []
    for path in sources():
        text = path.read_text()
        for match in OPENERS.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0).strip()}")
    assert found == []
