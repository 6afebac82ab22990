"""``ports.http.HttpClient``'s body limits: the same assertions over the real client (a server on 127.0.0.1)
and the fake in tests/fakes, so services tested over the fake meet the answers the real one gives.

``body_limit_mode="fail"`` (http_request and tool nodes) fails a body over the limit or slower than the
deadline; ``"truncate"`` (webhook deliveries) returns the status and the body as far as it was read.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fakes.http import FakeHttp, SlowBody
from workflow_service.adapters.http.outbound import UrllibHttpClient
from workflow_service.ports.http import HttpClient, OutboundRequest, OutboundRequestFailed, OutboundResponse
from workflow_service.settings.engine import HttpNodeSettings

LIMIT = 1000  # the client's max_response_bytes
TIMEOUT = 0.3


@dataclass
class ClientUnderTest:
    client: HttpClient
    # (status, body, stall_after) -> a URL answered with that status and body; with stall_after, only
    # that many bytes of the body arrive before the deadline (the status line and headers arrive at once).
    serve: Callable[[int, bytes, int | None], str]


def real(request: pytest.FixtureRequest) -> ClientUnderTest:
    routes: dict[str, tuple[int, bytes, int | None]] = {}
    released = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, body, stall_after = routes[self.path]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may close the connection mid-body
                self.wfile.write(body if stall_after is None else body[:stall_after])
                self.wfile.flush()
                if stall_after is not None:
                    released.wait(10)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop() -> None:
        released.set()
        server.shutdown()
        server.server_close()

    request.addfinalizer(stop)
    numbers = itertools.count()

    def serve(status: int, body: bytes, stall_after: int | None) -> str:
        path = f"/answer/{next(numbers)}"
        routes[path] = (status, body, stall_after)
        return f"http://127.0.0.1:{server.server_port}{path}"

    settings = HttpNodeSettings(require_https=False, allow_loopback=True, max_response_bytes=LIMIT)
    return ClientUnderTest(UrllibHttpClient(settings), serve)


def fake(request: pytest.FixtureRequest) -> ClientUnderTest:
    http = FakeHttp(max_response_bytes=LIMIT)
    numbers = itertools.count()

    def serve(status: int, body: bytes, stall_after: int | None) -> str:
        url = f"https://receiver.example.com/answer/{next(numbers)}"
        response = OutboundResponse(status=status, headers={}, body=body, elapsed_ms=1.0)
        http.route("POST", url, response if stall_after is None else SlowBody(response, body[:stall_after]))
        return url

    return ClientUnderTest(http, serve)


@pytest.fixture(params=[real, fake], ids=["urllib", "fake"])
def subject(request: pytest.FixtureRequest) -> Iterator[ClientUnderTest]:
    yield request.param(request)


def post(subject: ClientUnderTest, url: str, **options: Any) -> OutboundResponse:
    return subject.client.send(OutboundRequest("POST", url, body=b"{}", timeout_seconds=TIMEOUT, **options))


# -- "fail", the default: http_request and tool nodes, whose answer is the body --------------------


def test_by_default_a_body_over_the_limit_fails(subject):
    url = subject.serve(200, b"x" * (LIMIT + 1), None)
    with pytest.raises(OutboundRequestFailed, match=f"exceeds the limit of {LIMIT} bytes"):
        post(subject, url)


def test_by_default_a_body_at_the_limit_is_returned_whole(subject):
    url = subject.serve(200, b"x" * LIMIT, None)
    response = post(subject, url)
    assert (response.status, response.body, response.body_truncated) == (200, b"x" * LIMIT, False)


def test_by_default_a_body_slower_than_the_deadline_fails(subject):
    url = subject.serve(200, b"accepted", 3)
    with pytest.raises(OutboundRequestFailed, match="timed out"):
        post(subject, url)


def test_by_default_a_body_over_the_requests_own_lower_limit_fails(subject):
    url = subject.serve(200, b"x" * 101, None)
    with pytest.raises(OutboundRequestFailed, match="exceeds the limit of 100 bytes"):
        post(subject, url, max_body_bytes=100)


# -- "truncate": webhook deliveries, where the status is the answer -------------------------------


@pytest.mark.parametrize("status", [200, 500])
def test_truncate_returns_the_status_and_the_start_of_a_body_over_the_limit(subject, status):
    body = bytes(range(256)) * 12  # over LIMIT
    url = subject.serve(status, body, None)
    response = post(subject, url, body_limit_mode="truncate")
    assert (response.status, response.body, response.body_truncated) == (status, body[:LIMIT], True)


def test_truncate_reads_no_more_than_the_requests_own_limit(subject):
    url = subject.serve(200, b"y" * 500, None)
    response = post(subject, url, body_limit_mode="truncate", max_body_bytes=100)
    assert (response.body, response.body_truncated) == (b"y" * 100, True)


def test_a_requests_limit_never_raises_the_clients(subject):
    url = subject.serve(200, b"y" * (LIMIT * 3), None)
    response = post(subject, url, body_limit_mode="truncate", max_body_bytes=LIMIT * 10)
    assert (response.body, response.body_truncated) == (b"y" * LIMIT, True)


def test_truncate_returns_a_body_within_the_limit_whole(subject):
    url = subject.serve(201, b"created", None)
    response = post(subject, url, body_limit_mode="truncate", max_body_bytes=7)
    assert (response.status, response.body, response.body_truncated) == (201, b"created", False)


@pytest.mark.parametrize("status", [200, 503])
def test_truncate_returns_the_status_and_what_arrived_of_a_body_slower_than_the_deadline(subject, status):
    url = subject.serve(status, b"accepted, thanks", 5)
    response = post(subject, url, body_limit_mode="truncate")
    assert (response.status, response.body, response.body_truncated) == (status, b"accep", True)
