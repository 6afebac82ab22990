"""Outbound HTTP for http_request/tool nodes: behaviour against a fake server on 127.0.0.1, and the
SSRF guard. Traffic only ever goes to 127.0.0.1: every connection is checked by a socket spy."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from workflow_service.adapters.http import special_purpose_addresses as registry
from workflow_service.adapters.http.outbound import UrllibHttpClient, address_refusal
from workflow_service.ports import OutboundRequest, OutboundRequestFailed, OutboundRequestRefused
from workflow_service.ports.http import BodyLimitMode
from workflow_service.settings.engine import HttpNodeSettings

LOOPBACK_ALLOWED = HttpNodeSettings(require_https=False, allow_loopback=True)


@dataclass
class FakeServer:
    port: int
    received: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class QuietServer(ThreadingHTTPServer):
    """Test server that does not print tracebacks when a client gives up on purpose (timeouts, limits)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the client connects to; connecting anywhere but 127.0.0.1 fails the test."""
    opened: list[tuple[str, int]] = []
    real_create_connection = socket.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append(address)
        assert address[0] == "127.0.0.1", f"the client tried to connect to {address[0]}"
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return opened


@pytest.fixture
def server(connections: list[tuple[str, int]]) -> Iterator[FakeServer]:
    release = threading.Event()
    state = FakeServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> bytes:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
            )
            return body

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def _route(self) -> None:
            body = self._record()
            path = self.path.split("?")[0]
            if path == "/json":
                self._answer(200, json.dumps({"ok": True}).encode(), {"Content-Type": "application/json", "X-A": "1"})
            elif path == "/echo":
                self._answer(201, body, {"Content-Type": self.headers.get("Content-Type", "")})
            elif path == "/missing":
                self._answer(404, b'{"detail": "no such thing"}')
            elif path == "/slow":
                release.wait(5)
                self._answer(200, b"late")
            elif path == "/big":
                self._answer(200, b"x" * 5000)
            elif path == "/big-stream":  # no Content-Length: the size is only known while reading
                self.send_response(200)
                self.end_headers()
                for _ in range(50):
                    self.wfile.write(b"y" * 100)
            elif path == "/superscript-length":  # latin-1 '²': str.isdigit() says yes, int() refuses it
                self.send_response(200)
                self.send_header("Content-Length", "\u00b2")
                self.end_headers()
                self.wfile.write(b"ok")
            elif path.startswith("/redirect"):
                self._answer(int(self.headers.get("X-Status", "302")), b"", {"Location": self.headers["X-Location"]})
            else:
                self._answer(500, b"unexpected path")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_port
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield state
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Fails the test if the client opens any connection at all."""
    attempted: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempted.append(address)
        raise AssertionError(f"the client tried to connect to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempted


def _resolver(table: dict[str, list[str]]) -> Any:
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


# --- behaviour against the fake server ------------------------------------------------------------


def test_get_returns_status_headers_and_json_body(server: FakeServer) -> None:
    client = UrllibHttpClient(LOOPBACK_ALLOWED)

    response = client.send(OutboundRequest("GET", server.url("/json?token=abc"), headers={"X-Trace": "t-1"}))

    assert response.status == 200
    assert response.json_or_text() == {"ok": True}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-a"] == "1"
    assert response.elapsed_ms >= 0
    [received] = server.received
    assert (received["method"], received["path"]) == ("GET", "/json?token=abc")
    assert received["headers"]["X-Trace"] == "t-1"


def test_the_trust_store_is_loaded_on_the_first_https_call_only(server: FakeServer, monkeypatch) -> None:
    # Loading it costs a cold start tens of milliseconds: a container whose calls are plain HTTP never pays.
    loaded: list[int] = []
    monkeypatch.setattr(ssl, "create_default_context", lambda *args, **kwargs: loaded.append(1) or None)
    client = UrllibHttpClient(LOOPBACK_ALLOWED)

    client.send(OutboundRequest("GET", server.url("/json")))

    assert loaded == []


def test_post_sends_the_body_and_headers(server: FakeServer) -> None:
    payload = json.dumps({"name": "Ada"}).encode()

    response = UrllibHttpClient(LOOPBACK_ALLOWED).send(
        OutboundRequest("post", server.url("/echo"), headers={"Content-Type": "application/json"}, body=payload)
    )

    assert response.status == 201
    assert response.json_or_text() == {"name": "Ada"}
    assert server.received[0]["method"] == "POST"
    assert server.received[0]["body"] == payload


def test_non_2xx_is_returned_not_raised(server: FakeServer) -> None:
    response = UrllibHttpClient(LOOPBACK_ALLOWED).send(OutboundRequest("GET", server.url("/missing")))

    assert response.status == 404
    assert response.json_or_text() == {"detail": "no such thing"}


def test_a_slow_server_fails_with_a_timeout(server: FakeServer) -> None:
    client = UrllibHttpClient(LOOPBACK_ALLOWED)

    with pytest.raises(OutboundRequestFailed, match=r"timed out after 0\.2 s"):
        client.send(OutboundRequest("GET", server.url("/slow"), timeout_seconds=0.2))


def test_the_settings_timeout_applies_when_the_request_has_none(server: FakeServer) -> None:
    client = UrllibHttpClient(HttpNodeSettings(require_https=False, allow_loopback=True, default_timeout_seconds=0.2))

    with pytest.raises(OutboundRequestFailed, match="timed out"):
        client.send(OutboundRequest("GET", server.url("/slow")))


def test_a_request_never_waits_past_the_time_left_of_its_callers_budget(server: FakeServer) -> None:
    # Given a 30 s timeout but only 0.2 s left of the turn's budget
    request = OutboundRequest("GET", server.url("/slow"), timeout_seconds=30, time_left_seconds=0.2)

    # When the server is slow, Then the request gives up at the budget, not at its own timeout
    with pytest.raises(OutboundRequestFailed, match=r"timed out after 0\.2 s"):
        UrllibHttpClient(LOOPBACK_ALLOWED).send(request)


@pytest.fixture
def dripping_server(tmp_path: Path) -> Iterator[Any]:
    """Starts a server (plain, or TLS as api.example.test) that drips a status line and headers that
    never end, a byte every 0.1 s (each byte well within any read timeout); returns (port, CA file)."""
    stop = threading.Event()
    listeners: list[socket.socket] = []
    certificate, private_key = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.write_text(TEST_CERTIFICATE)
    private_key.write_text(TEST_PRIVATE_KEY)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate, private_key)

    def start(tls: bool) -> tuple[int, Path]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listeners.append(listener)

        def serve() -> None:
            with contextlib.suppress(OSError):
                accepted, _ = listener.accept()
                connection = server_context.wrap_socket(accepted, server_side=True) if tls else accepted
                with connection:
                    connection.recv(65536)
                    for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 40:
                        if stop.wait(0.1):
                            break
                        connection.sendall(bytes([byte]))

        threading.Thread(target=serve, daemon=True).start()
        return int(listener.getsockname()[1]), certificate

    try:
        yield start
    finally:
        stop.set()
        for listener in listeners:
            listener.close()


@pytest.mark.parametrize("mode", ["fail", "truncate"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_server_dripping_its_headers_cannot_hold_a_request_past_its_deadline(
    dripping_server: Any, scheme: str, mode: BodyLimitMode
) -> None:
    # A truncating request too: its status line never arrived, so there is nothing to decide by.
    # Given a server that takes 7 s to drip its status line and headers
    port, ca_file = dripping_server(tls=scheme == "https")
    client = UrllibHttpClient(
        LOOPBACK_ALLOWED,
        resolve=_resolver({"api.example.test": ["127.0.0.1"]}),
        tls_context=ssl.create_default_context(cafile=str(ca_file)),
    )
    request = OutboundRequest(
        "GET", f"{scheme}://api.example.test:{port}/", timeout_seconds=30, time_left_seconds=0.5, body_limit_mode=mode
    )
    started = time.monotonic()
    # When a request with 0.5 s left of its budget calls it, Then it fails as timed out
    with pytest.raises(OutboundRequestFailed, match=r"timed out after 0\.5 s"):
        client.send(request)
    # And it gave up at the deadline, not when the server stopped dripping
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"a request with 0.5 s left took {elapsed:.1f} s"


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_a_response_above_the_size_limit_fails(server: FakeServer, path: str) -> None:
    client = UrllibHttpClient(HttpNodeSettings(require_https=False, allow_loopback=True, max_response_bytes=1000))

    with pytest.raises(OutboundRequestFailed, match="exceeds the limit of 1000 bytes"):
        client.send(OutboundRequest("GET", server.url(path)))


def test_an_unreadable_content_length_is_read_as_absent(server: FakeServer) -> None:
    client = UrllibHttpClient(HttpNodeSettings(require_https=False, allow_loopback=True, max_response_bytes=1000))

    # When the server declares its length with a superscript digit, Then the body is read until it ends
    assert client.send(OutboundRequest("GET", server.url("/superscript-length"))).body == b"ok"


def test_the_timeout_bounds_every_address_of_a_host_together(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a host with three public addresses, none of which answers (each connect waits its whole timeout)
    given: list[float] = []

    def unanswered(address: tuple[str, int], timeout: float, *args: Any, **kwargs: Any) -> socket.socket:
        given.append(timeout)
        time.sleep(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", unanswered)
    resolve = _resolver({"hooks.example.com": ["8.8.8.8", "1.1.1.1", "9.9.9.9"]})
    client = UrllibHttpClient(HttpNodeSettings(), resolve=resolve)
    # When a request with a 0.2 s timeout is sent, Then it times out
    with pytest.raises(OutboundRequestFailed, match=r"timed out after 0\.2 s"):
        client.send(OutboundRequest("POST", "https://hooks.example.com/in", body=b"{}", timeout_seconds=0.2))
    # And the addresses shared the 0.2 s instead of getting 0.2 s each
    assert sum(given) <= 0.2 + 0.02, given


def test_a_slow_dns_answer_ends_the_request_at_its_deadline_not_when_the_resolver_gives_up() -> None:
    # Given a resolver that answers only when the test lets it (as a DNS server retrying for seconds)
    started, release = threading.Event(), threading.Event()

    def slow_resolver(host: str, port: int) -> list[str]:
        started.set()
        release.wait(30)
        return ["93.184.215.14"]

    client = UrllibHttpClient(HttpNodeSettings(), resolve=slow_resolver)
    try:
        # When a request with a 0.2 s timeout is sent, Then it fails as timed out while resolving
        with pytest.raises(OutboundRequestFailed, match=r"timed out after 0\.2 s resolving host slow\.example\.com"):
            client.send(OutboundRequest("GET", "https://slow.example.com/x", timeout_seconds=0.2))
        # And it did so while the resolver was still waiting: the request did not wait for it
        assert started.is_set() and not release.is_set()
    finally:
        release.set()


def test_a_resolver_failure_is_reported_as_before() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    client = UrllibHttpClient(HttpNodeSettings(), resolve=failing)
    with pytest.raises(OutboundRequestFailed, match=r"could not resolve host nowhere\.example\.com"):
        client.send(OutboundRequest("GET", "https://nowhere.example.com/x", timeout_seconds=1))


def test_a_response_at_the_size_limit_is_returned(server: FakeServer) -> None:
    client = UrllibHttpClient(HttpNodeSettings(require_https=False, allow_loopback=True, max_response_bytes=5000))

    assert len(client.send(OutboundRequest("GET", server.url("/big-stream"))).body) == 5000


def test_the_connection_goes_to_the_vetted_address_and_the_host_name_is_kept(
    server: FakeServer, connections: list[tuple[str, int]]
) -> None:
    # api.example.test exists only in this resolver: the request can only arrive if the client
    # connects to the address it vetted instead of resolving the name again.
    resolve = _resolver({"api.example.test": ["127.0.0.1"]})
    client = UrllibHttpClient(LOOPBACK_ALLOWED, resolve=resolve)

    response = client.send(OutboundRequest("GET", server.url("/json", host="api.example.test")))

    assert response.status == 200
    assert server.received[0]["headers"]["Host"] == f"api.example.test:{server.port}"
    assert connections == [("127.0.0.1", server.port)]
    assert resolve.calls == ["api.example.test"]


def test_redirects_are_followed_to_a_vetted_target(server: FakeServer) -> None:
    response = UrllibHttpClient(LOOPBACK_ALLOWED).send(
        OutboundRequest("GET", server.url("/redirect"), headers={"X-Location": "/json"})
    )

    assert response.status == 200
    assert [entry["path"] for entry in server.received] == ["/redirect", "/json"]


def test_a_request_that_follows_no_redirects_gets_the_3xx_itself(server: FakeServer) -> None:
    # Given a webhook delivery, for which a redirect is a failure rather than a new target
    request = OutboundRequest(
        "POST", server.url("/redirect"), headers={"X-Location": "/json", "X-Status": "307"}, body=b"{}"
    )
    # When the receiver answers 307
    response = UrllibHttpClient(LOOPBACK_ALLOWED).send(request._replace(follow_redirects=False))
    # Then the 307 is the answer and the Location was never called
    assert (response.status, response.headers["location"]) == (307, "/json")
    assert [entry["path"] for entry in server.received] == ["/redirect"]


def test_a_307_redirect_keeps_the_method_and_body_and_a_303_becomes_get(server: FakeServer) -> None:
    client = UrllibHttpClient(LOOPBACK_ALLOWED)

    kept = client.send(
        OutboundRequest("POST", server.url("/redirect"), headers={"X-Location": "/echo", "X-Status": "307"}, body=b"hi")
    )
    changed = client.send(
        OutboundRequest("POST", server.url("/redirect"), headers={"X-Location": "/json", "X-Status": "303"}, body=b"x")
    )

    assert (kept.status, kept.body) == (201, b"hi")
    assert changed.status == 200
    assert [(entry["method"], entry["path"]) for entry in server.received[2:]] == [
        ("POST", "/redirect"),
        ("GET", "/json"),
    ]


def test_a_redirect_to_another_origin_drops_credentials_of_any_name(server: FakeServer) -> None:
    client = UrllibHttpClient(
        LOOPBACK_ALLOWED, resolve=_resolver({"127.0.0.1": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    )
    # Given a request carrying an Authorization header, an API key in a header of the API's own naming,
    # and headers that carry no credentials
    headers = {
        "X-Location": server.url("/json", host="other.test"),
        "Authorization": "Bearer secret",
        "X-Api-Key": "key-secret",
        "Accept": "application/json",
    }

    # When its first origin redirects it to another one
    client.send(OutboundRequest("GET", server.url("/redirect"), headers=headers))

    # Then the other origin gets neither credential, and what carries none goes along
    first, second = server.received
    assert first["headers"]["Authorization"] == "Bearer secret" and first["headers"]["X-Api-Key"] == "key-secret"
    assert "Authorization" not in second["headers"] and "X-Api-Key" not in second["headers"]
    assert second["headers"]["Accept"] == "application/json"


def test_a_redirect_to_the_metadata_service_is_refused_without_connecting_to_it(
    server: FakeServer, connections: list[tuple[str, int]]
) -> None:
    client = UrllibHttpClient(LOOPBACK_ALLOWED)

    with pytest.raises(OutboundRequestRefused, match=r"169\.254\.169\.254 \(redirect target\).*link-local"):
        client.send(
            OutboundRequest(
                "GET", server.url("/redirect"), headers={"X-Location": "http://169.254.169.254/latest/meta-data/"}
            )
        )

    assert connections == [("127.0.0.1", server.port)]


def test_endless_redirects_fail(server: FakeServer) -> None:
    with pytest.raises(OutboundRequestFailed, match="more than 5 redirects"):
        UrllibHttpClient(LOOPBACK_ALLOWED).send(
            OutboundRequest("GET", server.url("/redirect"), headers={"X-Location": "/redirect"})
        )


# A self-signed test certificate for api.example.test (valid until 2126), used only by the fake TLS server.
TEST_CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIBqTCCAVCgAwIBAgIUJaFoBv5Dz2ql7Sgqagh9Qt5sHJ8wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQYXBpLmV4YW1wbGUudGVzdDAgFw0yNjExMjMxODE5MzlaGA8y
MTI2MTAzMDE4MTkzOVowGzEZMBcGA1UEAwwQYXBpLmV4YW1wbGUudGVzdDBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABPdecm6+sWi8Q6CkYL8gOzeTPDLVtmfGEnRi
sJ1FqH3x9YSS8SYu79T9BdjCQioc5zaAzty9e26My/WbK0Y4kLqjcDBuMB0GA1Ud
DgQWBBT2RikHy24v6GeW7bYzl70hTtgksjAfBgNVHSMEGDAWgBT2RikHy24v6GeW
7bYzl70hTtgksjAPBgNVHRMBAf8EBTADAQH/MBsGA1UdEQQUMBKCEGFwaS5leGFt
cGxlLnRlc3QwCgYIKoZIzj0EAwIDRwAwRAIgToDZhf0OeyMTsF15DuS5UqwfDn0S
axofMOng5rxJP3kCIEqZNLWpLrrV0ZEKyt8pj8fQMSi7PVCh8w9YY0OrWMhG
-----END CERTIFICATE-----
"""
TEST_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYW6HCtP4arOrKSVZ
G5vFEUcQUHOTqj5E+Zrb8Qggz7GhRANCAAT3XnJuvrFovEOgpGC/IDs3kzwy1bZn
xhJ0YrCdRah98fWEkvEmLu/U/QXYwkIqHOc2gM7cvXtujMv1mytGOJC6
-----END PRIVATE KEY-----
"""


@pytest.fixture
def tls_server(tmp_path: Path, connections: list[tuple[str, int]]) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 presenting the certificate of api.example.test; yields (port, CA file)."""
    certificate, private_key = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.write_text(TEST_CERTIFICATE)
    private_key.write_text(TEST_PRIVATE_KEY)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/to-plain-http":
                self.send_response(302)
                self.send_header("Location", f"http://{self.headers['Host']}/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = self.headers["Host"].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate, private_key)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield httpd.server_port, certificate
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_https_to_a_pinned_address_verifies_the_certificate_for_the_url_host(
    tls_server: tuple[int, Path], connections: list[tuple[str, int]]
) -> None:
    port, ca_file = tls_server
    resolve = _resolver({"api.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    client = UrllibHttpClient(
        LOOPBACK_ALLOWED, resolve=resolve, tls_context=ssl.create_default_context(cafile=str(ca_file))
    )

    response = client.send(OutboundRequest("GET", f"https://api.example.test:{port}/"))

    assert (response.status, response.body) == (200, f"api.example.test:{port}".encode())
    assert connections == [("127.0.0.1", port)]
    # Same address, but the certificate does not name this host: verification uses the URL's host.
    with pytest.raises(OutboundRequestFailed, match="certificate verify failed"):
        client.send(OutboundRequest("GET", f"https://other.example.test:{port}/"))


def test_https_rejects_a_certificate_outside_the_trust_store(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    client = UrllibHttpClient(LOOPBACK_ALLOWED, resolve=_resolver({"api.example.test": ["127.0.0.1"]}))

    with pytest.raises(OutboundRequestFailed, match="certificate verify failed"):
        client.send(OutboundRequest("GET", f"https://api.example.test:{port}/"))


# --- the SSRF guard -------------------------------------------------------------------------------


def test_loopback_is_refused_unless_allowed(no_connections: list[tuple[str, int]]) -> None:
    with pytest.raises(OutboundRequestRefused, match=r"127\.0\.0\.1.*loopback.*HTTP_NODE_ALLOW_LOOPBACK"):
        UrllibHttpClient(HttpNodeSettings(require_https=False)).send(
            OutboundRequest("GET", "http://127.0.0.1:8080/json")
        )

    assert no_connections == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "link-local"),
        ("http://10.0.0.1/admin", "private network"),
        ("http://[::1]:8080/", "loopback"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ],
)
def test_internal_addresses_are_refused_without_sending_anything(
    url: str, reason: str, no_connections: list[tuple[str, int]]
) -> None:
    with pytest.raises(OutboundRequestRefused, match=reason):
        UrllibHttpClient(HttpNodeSettings(require_https=False)).send(OutboundRequest("GET", url))

    assert no_connections == []


def test_metadata_service_is_refused_even_when_everything_else_is_allowed(
    no_connections: list[tuple[str, int]],
) -> None:
    permissive = HttpNodeSettings(require_https=False, allow_loopback=True, allow_private_networks=True)

    with pytest.raises(OutboundRequestRefused, match="never allowed"):
        UrllibHttpClient(permissive).send(OutboundRequest("GET", "http://169.254.169.254/latest/api/token"))


def test_a_host_name_resolving_to_loopback_is_refused(no_connections: list[tuple[str, int]]) -> None:
    client = UrllibHttpClient(HttpNodeSettings(require_https=False), resolve=_resolver({"localhost": ["127.0.0.1"]}))

    with pytest.raises(OutboundRequestRefused, match=r"localhost \(127\.0\.0\.1\).*loopback"):
        client.send(OutboundRequest("GET", "http://localhost:8080/"))


def test_a_host_with_any_internal_address_is_refused(no_connections: list[tuple[str, int]]) -> None:
    # A name with one public and one private record must not pass on the public one.
    client = UrllibHttpClient(
        HttpNodeSettings(require_https=False), resolve=_resolver({"mixed.test": ["93.184.215.14", "10.1.2.3"]})
    )

    with pytest.raises(OutboundRequestRefused, match=r"10\.1\.2\.3"):
        client.send(OutboundRequest("GET", "https://mixed.test/"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.com/file", "only http and https"),
        ("http://user:pass@example.com/", "credentials in the URL"),
        ("http:///no-host", "no host"),
    ],
)
def test_unsupported_urls_are_refused(url: str, reason: str, no_connections: list[tuple[str, int]]) -> None:
    client = UrllibHttpClient(HttpNodeSettings(require_https=False), resolve=_resolver({}))

    with pytest.raises(OutboundRequestRefused, match=reason):
        client.send(OutboundRequest("GET", url))


def test_an_unknown_method_is_refused(no_connections: list[tuple[str, int]]) -> None:
    with pytest.raises(OutboundRequestRefused, match="TRACE"):
        UrllibHttpClient(HttpNodeSettings(require_https=False)).send(OutboundRequest("TRACE", "http://93.184.215.14/"))


PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    ("address", "allow_loopback", "allow_private", "allowed"),
    [
        (PUBLIC, False, False, True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False, False, True),
        ("127.0.0.1", True, False, True),
        ("127.8.9.10", True, False, True),
        ("::1", True, False, True),
        ("127.0.0.1", False, True, False),
        ("10.0.0.1", False, True, True),
        ("172.16.5.4", False, True, True),
        ("192.168.1.1", False, True, True),
        ("fd12:3456::1", False, True, True),
        ("10.0.0.1", True, False, False),
        ("172.32.0.1", False, False, True),  # just outside 172.16.0.0/12
        ("169.254.169.254", True, True, False),
        ("169.254.0.1", True, True, False),
        ("fe80::1", True, True, False),
        ("fd00:ec2::254", True, True, False),
        ("0.0.0.0", True, True, False),
        ("::", True, True, False),
        ("224.0.0.1", True, True, False),
        ("ff02::1", True, True, False),
        ("100.100.100.200", True, True, False),  # shared address space (another cloud's metadata)
        ("240.0.0.1", True, True, False),
        ("::ffff:10.0.0.1", False, False, False),
        ("::ffff:10.0.0.1", False, True, True),
        ("64:ff9b::a9fe:a9fe", True, True, False),  # NAT64 of 169.254.169.254
        ("64:ff9b::5db8:d70e", True, True, False),  # NAT64, even of a public address: the gateway decides
        ("2002:a9fe:a9fe::1", True, True, False),  # 6to4 of 169.254.169.254
    ],
)
def test_address_policy(address: str, allow_loopback: bool, allow_private: bool, allowed: bool) -> None:
    settings = HttpNodeSettings(
        require_https=False, allow_loopback=allow_loopback, allow_private_networks=allow_private
    )

    refusal = address_refusal(ipaddress.ip_address(address), settings)

    assert (refusal is None) is allowed, refusal


@pytest.mark.parametrize(
    "address",
    [
        "192.0.0.192",  # a cloud metadata address that Python 3.11 counts as global
        "192.0.0.8",  # the IPv4 dummy address (3.11: global)
        "192.0.0.9",  # PCP anycast: special-purpose, refused even though globally reachable
        "192.88.99.1",  # the deprecated 6to4 relay anycast block (3.11: global)
        "192.31.196.1",
        "192.52.193.1",
        "192.175.48.1",
        "198.18.0.1",
        "198.19.255.254",
        "192.0.2.10",
        "198.51.100.10",
        "203.0.113.10",
        "255.255.255.255",
        "100.64.0.1",
        "::ffff:192.0.0.192",
        "64:ff9b::5db8:d70e",  # NAT64 of a public address
        "2002:5db8:d70e::1",  # 6to4 of a public address
        "64:ff9b:1::1",
        "100::1",
        "2001::1",  # Teredo
        "2001:2::1",
        "2001:db8::1",
        "3fff::1",
        "5f00::1",
        "fec0::1",
        "::a9fe:a9fe",  # IPv4-compatible form, outside global unicast
        "4000::1",  # unallocated, outside 2000::/3
    ],
)
def test_special_purpose_addresses_are_refused_whatever_the_python_version(address: str) -> None:
    # Given every allowance the settings can give
    settings = HttpNodeSettings(require_https=False, allow_loopback=True, allow_private_networks=True)

    # When the address is judged
    refusal = address_refusal(ipaddress.ip_address(address), settings)

    # Then it is refused by the module's own table (ipaddress's is_global differs between 3.11 and 3.12)
    assert refusal is not None


def test_the_address_policy_never_asks_ipaddress_whether_an_address_is_global(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given ipaddress flags that would lie about every address
    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        for flag in ("is_global", "is_private", "is_reserved", "is_link_local", "is_multicast", "is_loopback"):
            monkeypatch.setattr(cls, flag, property(lambda self: pytest.fail("the policy read an ipaddress flag")))
    settings = HttpNodeSettings(require_https=False)

    # When public and special addresses are judged, Then the decisions come from the table alone
    assert address_refusal(ipaddress.ip_address(PUBLIC), settings) is None
    assert address_refusal(ipaddress.ip_address("192.0.0.192"), settings) is not None
    assert address_refusal(ipaddress.ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c"), settings) is None


ALWAYS_REFUSED = registry.METADATA + registry.SPECIAL_PURPOSE


def _inside(cidr: str) -> str:
    """An address inside the block (its second one when there is one, else the only one)."""
    network = ipaddress.ip_network(cidr)
    return str(network[1] if network.num_addresses > 1 else network[0])


@pytest.mark.parametrize(("cidr", "name"), ALWAYS_REFUSED, ids=[cidr for cidr, _ in ALWAYS_REFUSED])
def test_every_registry_block_is_refused_directly(cidr: str, name: str) -> None:
    # Given every allowance the settings can give, When an address of the block is judged, Then it is refused
    settings = HttpNodeSettings(require_https=False, allow_loopback=True, allow_private_networks=True)
    refusal = address_refusal(ipaddress.ip_address(_inside(cidr)), settings)
    assert refusal is not None and cidr in refusal, refusal
    # The block's last address too (it may lie in a narrower listed block: any refusal will do)
    assert address_refusal(ipaddress.ip_network(cidr)[-1], settings) is not None


@pytest.mark.parametrize(("cidr", "name"), ALWAYS_REFUSED, ids=[cidr for cidr, _ in ALWAYS_REFUSED])
def test_every_registry_block_is_refused_as_a_redirect_target_without_connecting(
    cidr: str, name: str, server: FakeServer, connections: list[tuple[str, int]]
) -> None:
    # Given a public-facing server that redirects to an address of the block
    address = ipaddress.ip_address(_inside(cidr))
    host = f"[{address}]" if address.version == 6 else str(address)
    client = UrllibHttpClient(HttpNodeSettings(require_https=False, allow_loopback=True, allow_private_networks=True))

    # When the redirect is followed, Then it is refused before any connection to it
    with pytest.raises(OutboundRequestRefused, match=r"\(redirect target\)"):
        client.send(OutboundRequest("GET", server.url("/redirect"), headers={"X-Location": f"http://{host}/x"}))
    assert connections == [("127.0.0.1", server.port)]


@pytest.mark.parametrize(("cidr", "name"), registry.PRIVATE, ids=[cidr for cidr, _ in registry.PRIVATE])
def test_private_blocks_are_refused_directly_and_as_redirect_targets_unless_allowed(
    cidr: str, name: str, server: FakeServer, connections: list[tuple[str, int]]
) -> None:
    address = ipaddress.ip_address(_inside(cidr))
    assert address_refusal(address, HttpNodeSettings(require_https=False, allow_private_networks=True)) is None
    assert address_refusal(address, HttpNodeSettings(require_https=False)) is not None
    host = f"[{address}]" if address.version == 6 else str(address)
    with pytest.raises(OutboundRequestRefused, match="HTTP_NODE_ALLOW_PRIVATE_NETWORKS"):
        UrllibHttpClient(LOOPBACK_ALLOWED).send(
            OutboundRequest("GET", server.url("/redirect"), headers={"X-Location": f"http://{host}/x"})
        )
    assert connections == [("127.0.0.1", server.port)]


def test_the_registry_snapshot_is_dated_and_every_entry_parses() -> None:
    # The deny-list is data with a date, so a reviewer can tell how old it is
    assert registry.SNAPSHOT_DATE[:2] == "20"
    for cidr, name in registry.LOOPBACK + registry.PRIVATE + ALWAYS_REFUSED:
        assert ipaddress.ip_network(cidr).with_prefixlen == cidr and name


def test_deployed_settings_refuse_plain_http_before_resolving_or_connecting(
    no_connections: list[tuple[str, int]],
) -> None:
    # Given the settings a deployed function has (https required by default)
    client = UrllibHttpClient(HttpNodeSettings(), resolve=lambda host, port: pytest.fail("resolved a host"))

    # When a workflow calls a plain http URL, Then it is refused naming the setting, and nothing is sent
    with pytest.raises(OutboundRequestRefused, match=r"only https URLs.*HTTP_NODE_REQUIRE_HTTPS"):
        client.send(OutboundRequest("GET", "http://93.184.215.14/data?token=secret"))
    assert no_connections == []


def test_a_redirect_from_https_to_plain_http_is_refused_when_https_is_required(
    tls_server: tuple[int, Path], connections: list[tuple[str, int]]
) -> None:
    # Given deployed settings (https required) and an https server that redirects to plain http
    port, ca_file = tls_server
    client = UrllibHttpClient(
        HttpNodeSettings(allow_loopback=True),
        resolve=_resolver({"api.example.test": ["127.0.0.1"]}),
        tls_context=ssl.create_default_context(cafile=str(ca_file)),
    )

    # When the redirect is followed, Then the downgrade is refused and only the https hop was made
    with pytest.raises(OutboundRequestRefused, match=r"only https URLs may be called \(redirect target\)"):
        client.send(OutboundRequest("GET", f"https://api.example.test:{port}/to-plain-http"))
    assert connections == [("127.0.0.1", port)]
