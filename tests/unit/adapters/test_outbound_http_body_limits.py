"""The real client's ``body_limit_mode="truncate"`` against raw servers on 127.0.0.1: it stops reading at the
limit and closes the connection, and the deadline still bounds the whole exchange. (What both the client
and the fake promise is in tests/contract/test_http_client.py.)"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from workflow_service.adapters.http.outbound import UrllibHttpClient
from workflow_service.ports import OutboundRequest, OutboundRequestFailed
from workflow_service.settings.engine import HttpNodeSettings

CLIENT = UrllibHttpClient(HttpNodeSettings(require_https=False, allow_loopback=True))
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], int]]:
    """Starts a one-connection server that reads the request, then hands the socket to ``answer``."""
    listeners: list[socket.socket] = []

    def start(answer: Callable[[socket.socket], None]) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listeners.append(listener)

        def serve() -> None:
            with contextlib.suppress(OSError):
                accepted, _ = listener.accept()
                with accepted:
                    accepted.recv(65536)
                    answer(accepted)

        threading.Thread(target=serve, daemon=True).start()
        return int(listener.getsockname()[1])

    try:
        yield start
    finally:
        for listener in listeners:
            listener.close()


def test_truncate_stops_reading_an_endless_body_at_the_limit_and_closes_the_connection(raw_server) -> None:
    # Given a server that answers 200 and then streams a body that never ends
    hung_up = threading.Event()

    def endless(connection: socket.socket) -> None:
        connection.sendall(HEAD)
        try:
            while True:
                connection.sendall(b"z" * 65536)
        except OSError:  # the client closed the connection
            hung_up.set()

    port = raw_server(endless)
    request = OutboundRequest(
        "POST",
        f"http://127.0.0.1:{port}/",
        body=b"{}",
        timeout_seconds=5,
        body_limit_mode="truncate",
        max_body_bytes=4096,
    )
    # When a truncating request is sent
    started = time.monotonic()
    response = CLIENT.send(request)
    # Then it returns the status and the first 4096 bytes at once, without waiting for its timeout
    assert (response.status, response.body, response.body_truncated) == (200, b"z" * 4096, True)
    assert time.monotonic() - started < 2
    # And it closed the connection: the server's next writes fail
    assert hung_up.wait(3), "the client kept the connection open"


def test_a_body_dripping_within_every_read_timeout_cannot_hold_a_truncating_request_past_its_deadline(
    raw_server,
) -> None:
    # Given a server whose status line and headers arrive at once, then a byte of body every 0.05 s
    stop = threading.Event()

    def dripping(connection: socket.socket) -> None:
        connection.sendall(HEAD)
        with contextlib.suppress(OSError):
            while not stop.wait(0.05):
                connection.sendall(b"d")

    port = raw_server(dripping)
    request = OutboundRequest(
        "POST",
        f"http://127.0.0.1:{port}/",
        body=b"{}",
        timeout_seconds=30,
        time_left_seconds=0.5,
        body_limit_mode="truncate",
        max_body_bytes=4096,
    )
    # When a truncating request with 0.5 s left of its budget is sent
    started = time.monotonic()
    try:
        response = CLIENT.send(request)
    finally:
        stop.set()
    # Then it gave up at the deadline, with the status and the bytes that had arrived
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"a request with 0.5 s left took {elapsed:.1f} s"
    assert response.status == 200 and response.body_truncated
    assert 0 < len(response.body) < 4096 and set(response.body) == {ord("d")}


@pytest.mark.parametrize("mode", ["fail", "truncate"])
def test_a_body_cut_off_by_the_server_fails_a_failing_request_and_is_returned_as_far_as_it_came(
    raw_server, mode
) -> None:
    # Given a server that declares a 100-byte body, sends 10 bytes of it and hangs up
    def hangs_up(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"b" * 10)

    port = raw_server(hangs_up)
    request = OutboundRequest("POST", f"http://127.0.0.1:{port}/", body=b"{}", timeout_seconds=5, body_limit_mode=mode)
    # When the request is sent, Then a failing request fails, and a truncating one returns the 10 bytes
    if mode == "fail":
        with pytest.raises(OutboundRequestFailed, match="reading the body failed: IncompleteRead"):
            CLIENT.send(request)
    else:
        response = CLIENT.send(request)
        assert (response.status, response.body, response.body_truncated) == (200, b"b" * 10, True)
