"""TLS to a pinned address keeps the host name for SNI and certificates; interrupts leak nothing."""

from __future__ import annotations

import datetime
import gc
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fluxolab.egress import Egress, EgressError, EgressPolicy
from fluxolab.engine import deadline
from tests.fake_http import FakeServer, serving


def _certificate(tmp: Path, name: str) -> tuple[Path, Path]:
    """Write a self-signed certificate for ``name`` and its key; return both paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[FakeServer, Path, list[str | None]]]:
    """An HTTPS server on 127.0.0.1 with a certificate for ``secure.test``; records SNI names."""
    cert, key = _certificate(tmp_path, "secure.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    with serving("127.0.0.1", tls=context) as server:
        yield server, cert, names


def test_tls_uses_the_host_name_while_connecting_to_the_checked_address(
    tls_server: tuple[FakeServer, Path, list[str | None]],
) -> None:
    server, cert, names = tls_server
    client = ssl.create_default_context(cafile=str(cert))
    egress = Egress(
        EgressPolicy(allow=("127.0.0.1",)),
        resolver=lambda host, port: ["127.0.0.1"],
        ssl_context=client,
    )
    response = egress.request("GET", server.url("/", host="secure.test"))
    assert response.status_code == 200
    assert names == ["secure.test"]
    assert response.json()["headers"]["host"] == f"secure.test:{server.port}"


def test_tls_certificate_for_another_name_is_refused(
    tls_server: tuple[FakeServer, Path, list[str | None]],
) -> None:
    server, cert, _names = tls_server
    egress = Egress(
        EgressPolicy(allow=("127.0.0.1",)),
        resolver=lambda host, port: ["127.0.0.1"],
        ssl_context=ssl.create_default_context(cafile=str(cert)),
    )
    with pytest.raises(EgressError, match="failed"):
        egress.request("GET", server.url("/", host="other.test"))


def _client_sockets(port: int) -> int:
    """Count this process's open TCP sockets whose remote end is ``port`` (client sides)."""
    gc.collect()
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[9] in inodes:
            count += 1
    return count


def test_request_interrupted_by_a_deadline_leaves_no_socket_open(server: FakeServer) -> None:
    release = threading.Event()
    server.routes["/silent"] = lambda request, reply: release.wait(5)
    egress = Egress(EgressPolicy(allow=("127.0.0.1",)))
    try:
        for _ in range(3):
            with pytest.raises(deadline.Expired), deadline.bounded(0.2):
                egress.request("GET", server.url("/silent"))
            assert _client_sockets(server.port) == 0
    finally:
        release.set()
    assert len(server.requests) == 3
