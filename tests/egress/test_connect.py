"""``Egress.connect``: the checked TCP connection non-HTTP clients (SMTP) are built on."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence

import pytest

from fluxolab.egress import Egress, EgressDenied, EgressError, EgressPolicy


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server on 127.0.0.1 that greets each connection with its peer's view."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.sendall(b"220 hello\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join()
    server.close()


def test_connect_reaches_an_allow_listed_address(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with Egress(EgressPolicy(allow=("127.0.0.1",))).connect("127.0.0.1", port, 2) as sock:
        assert sock.recv(100) == b"220 hello\r\n"
        assert sock.gettimeout() == 2


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0x7f.1", "[::1]", "10.0.0.1", "::"])
def test_connect_refuses_non_public_destinations(host: str) -> None:
    with pytest.raises(EgressDenied, match="is not allowed"):
        Egress().connect(host, 25, 1)


def test_connect_goes_to_the_checked_address_of_a_name(listener: socket.socket) -> None:
    answers: list[Sequence[str]] = [["127.0.0.1"], ["10.9.9.9"]]

    def resolve(host: str, port: int) -> Sequence[str]:
        return answers.pop(0)

    egress = Egress(EgressPolicy(allow=("127.0.0.1",)), resolver=resolve)
    with egress.connect("smtp.test", listener.getsockname()[1], 2) as sock:
        assert sock.getpeername()[0] == "127.0.0.1"
    assert answers == [["10.9.9.9"]]  # looked up once


def test_connect_refuses_a_name_with_any_blocked_address() -> None:
    egress = Egress(
        EgressPolicy(allow=("127.0.0.1",)), resolver=lambda host, port: ["127.0.0.1", "10.0.0.1"]
    )
    with pytest.raises(EgressDenied, match=r"smtp.test \(10.0.0.1\) is not allowed: private"):
        egress.connect("smtp.test", 25, 1)


def test_connect_failure_is_a_readable_error(listener: socket.socket) -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    with pytest.raises(
        EgressError, match=f"Could not connect to 127.0.0.1:{port}: Connection refused"
    ):
        Egress(EgressPolicy(allow=("127.0.0.1",))).connect("127.0.0.1", port, 1)
