"""Outbound HTTP for ``http_request`` and ``tool_node`` nodes, guarded against SSRF.

Workflow authors choose these URLs, so every request is vetted before a byte is sent:

- only ``https`` URLs (plain ``http`` too where ``require_https`` is off, as in the local runtime),
  without credentials in the URL;
- the host is resolved once and EVERY address it resolves to must be allowed by
  ``address_policy`` (a fixed table, the same on every Python version): link-local and cloud
  metadata addresses are always refused; loopback only with ``allow_loopback``; private networks
  only with ``allow_private_networks``; every other special-purpose block is always refused;
- the connection goes to the vetted address itself (the URL's host name is kept for the Host
  header, TLS SNI and certificate checks), so a DNS answer that changes between the check and the
  connection (DNS rebinding) cannot redirect the call;
- redirects ARE followed (unless the request says ``follow_redirects=False``: then a 3xx answer is
  returned as it is), up to ``MAX_REDIRECTS``, and each hop is vetted again exactly like the
  first URL; when a redirect leaves the original origin only headers that carry no credentials
  (Accept, Content-Type, ...) go along;
- environment proxies are ignored (a proxy would make the address check meaningless);
- one deadline (the request's timeout, else the settings') covers connecting, every hop, the status
  line and headers and reading the body: a watchdog shuts the sockets down when it passes, so a
  server dripping bytes cannot outlast it;
- a body is never read past ``max_response_bytes`` (or the request's lower ``max_body_bytes``). With
  ``body_limit_mode="fail"`` (the default) a body over it, or not read by the deadline, fails the
  request; with ``"truncate"`` the status decides: reading stops at the limit, the deadline or a
  connection broken mid-body, the connection is closed, and the response carries the body as far as
  it was read.

Non-2xx answers are returned as responses; refusals raise ``OutboundRequestRefused`` and transport
problems ``OutboundRequestFailed``. Error messages never include the URL's query string.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from workflow_service.adapters.http.address_policy import address_refusal
from workflow_service.adapters.http.deadline import DeadlineWatchdog
from workflow_service.ports.http import (
    OutboundRequest,
    OutboundRequestFailed,
    OutboundRequestRefused,
    OutboundResponse,
    redacted_url,
)

if TYPE_CHECKING:
    from workflow_service.settings.engine import HttpNodeSettings

Resolver = Callable[[str, int], Sequence[str]]

ALLOWED_SCHEMES = ("http", "https")
ALLOWED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
MAX_REDIRECTS = 5
USER_AGENT = "workflow-service-http-node/1"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# What a request keeps when a redirect leaves its origin: headers that carry no credentials. Any other
# header goes, not only Authorization and Cookie: an API key travels as often in a header of the API's
# own naming (X-Api-Key, Api-Key, X-Auth-Token...), which a redirect must not hand to another host.
_HEADERS_KEPT_ACROSS_ORIGINS = frozenset(
    {"accept", "accept-language", "cache-control", "content-language", "content-length", "content-type", "user-agent"}
)
_BODY_HEADERS = frozenset({"content-type", "content-length", "transfer-encoding"})
_READ_CHUNK_BYTES = 64 * 1024


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection, in resolver order, without duplicates."""
    addresses: list[str] = []
    for _family, _type, _proto, _canonname, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _resolve_by(resolve: Resolver, host: str, port: int, deadline: float) -> list[str]:
    """``resolve(host, port)`` within the request's deadline (``time.monotonic()``), else TimeoutError.

    The resolver's own timeouts and retries can add up to far more than the request's timeout, and
    getaddrinfo cannot be interrupted: it runs on a daemon thread, left to end by itself when it
    outlasts the deadline, so a slow DNS server cannot hold the turn (or the delivery) past it.
    """
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, list(resolve(host, port))))
        except BaseException as error:  # handed to the caller's thread as it is
            outcome.append((False, error))

    worker = threading.Thread(target=run, name="outbound-dns", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not outcome:
        raise TimeoutError(f"resolving {host}")
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


class _VettedTarget(NamedTuple):
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


class _Exchange(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes
    body_truncated: bool


class _BodyLimit(NamedTuple):
    max_bytes: int
    truncate: bool  # body_limit_mode == "truncate"
    setting_named: str  # what a too-large message names as the limit's source ("" for the request's own)


class UrllibHttpClient:
    """``ports.HttpClient`` over urllib with the SSRF guard described in this module.

    Response header names are lower-cased; repeated headers are joined with ", ".
    ``resolve`` replaces DNS resolution (tests); it returns the host's addresses as strings.
    ``tls_context`` replaces the system trust store (a private CA bundle, tests); it must verify
    certificates and host names, as the default does.
    """

    def __init__(
        self,
        settings: HttpNodeSettings,
        *,
        resolve: Resolver | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._resolve = resolve or resolve_host
        self._given_tls_context = tls_context

    @functools.cached_property
    def _tls_context(self) -> ssl.SSLContext:
        # Built on the first HTTPS call: loading the system trust store costs tens of milliseconds of
        # CPU, which a cold start whose turns make no HTTPS call would pay for nothing.
        return self._given_tls_context or ssl.create_default_context()

    def send(self, request: OutboundRequest) -> OutboundResponse:
        """Vet, send and read one request (following vetted redirects); non-2xx is returned."""
        method = request.method.upper()
        if method not in ALLOWED_METHODS:
            raise OutboundRequestRefused(f"HTTP method {request.method!r} is not allowed")
        timeout = request.timeout_seconds or self._settings.default_timeout_seconds
        if request.time_left_seconds is not None:
            timeout = min(timeout, request.time_left_seconds)
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        body_limit = self._body_limit(request)
        url, body = request.url, request.body
        headers = {name: value for name, value in request.headers.items()}
        for hop in range(MAX_REDIRECTS + 1):
            target = self._vet(url, is_redirect=hop > 0, deadline=deadline, timeout=timeout)
            exchange = self._exchange(method, target, headers, body, deadline, timeout, body_limit)
            location = exchange.headers.get("location")
            if exchange.status not in _REDIRECT_STATUSES or not location or not request.follow_redirects:
                return OutboundResponse(
                    status=exchange.status,
                    headers=exchange.headers,
                    body=exchange.body,
                    elapsed_ms=(time.perf_counter() - started) * 1000.0,
                    body_truncated=exchange.body_truncated,
                )
            if hop == MAX_REDIRECTS:
                break
            next_url = urljoin(url, location)
            if exchange.status == 303 or (exchange.status in (301, 302) and method == "POST"):
                # What browsers and urllib do: the follow-up is a GET without the original body.
                method = "GET" if method != "HEAD" else "HEAD"
                body = None
                headers = {name: value for name, value in headers.items() if name.lower() not in _BODY_HEADERS}
            if _origin(next_url) != _origin(url):
                headers = {
                    name: value for name, value in headers.items() if name.lower() in _HEADERS_KEPT_ACROSS_ORIGINS
                }
            url = next_url
        raise OutboundRequestFailed(
            f"{request.method.upper()} {redacted_url(request.url)}: more than {MAX_REDIRECTS} redirects"
        )

    def _body_limit(self, request: OutboundRequest) -> _BodyLimit:
        own = self._settings.max_response_bytes
        truncate = request.body_limit_mode == "truncate"
        # A request may read less than the settings allow, never more: the settings bound the memory.
        if request.max_body_bytes is not None and request.max_body_bytes < own:
            return _BodyLimit(max(0, request.max_body_bytes), truncate, "")
        return _BodyLimit(own, truncate, " (HTTP_NODE_MAX_RESPONSE_BYTES)")

    def _vet(self, url: str, *, is_redirect: bool, deadline: float, timeout: float) -> _VettedTarget:
        context = " (redirect target)" if is_redirect else ""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise OutboundRequestRefused(f"invalid URL{context} {redacted_url(url)}: {error}") from None
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise OutboundRequestRefused(
                f"only http and https URLs may be called{context}, got scheme {scheme or '(none)'!r}"
            )
        if scheme != "https" and self._settings.require_https:
            raise OutboundRequestRefused(
                f"only https URLs may be called{context} (HTTP_NODE_REQUIRE_HTTPS), got {redacted_url(url)}"
            )
        if parts.username is not None or parts.password is not None:
            raise OutboundRequestRefused(
                f"credentials in the URL are not supported{context}; send an Authorization header instead"
            )
        host = parts.hostname
        if not host:
            raise OutboundRequestRefused(f"URL has no host{context}: {redacted_url(url)}")
        port = port or (443 if scheme == "https" else 80)
        try:
            addresses = _resolve_by(self._resolve, host, port, deadline)
        except TimeoutError:
            raise OutboundRequestFailed(f"timed out after {timeout:g} s resolving host {host}{context}") from None
        except (OSError, UnicodeError) as error:
            raise OutboundRequestFailed(f"could not resolve host {host}{context}: {error}") from None
        if not addresses:
            raise OutboundRequestFailed(f"host {host} resolved to no address{context}")
        for address_text in addresses:
            try:
                address = ipaddress.ip_address(address_text.split("%", 1)[0])
            except ValueError:
                raise OutboundRequestRefused(f"host {host} resolved to an unusable address {address_text!r}") from None
            reason = address_refusal(address, self._settings)
            if reason is not None:
                shown = host if host == str(address) else f"{host} ({address})"
                raise OutboundRequestRefused(f"refused to call {shown}{context}: the address is {reason}")
        return _VettedTarget(url=url, host=host, port=port, addresses=tuple(addresses))

    def _exchange(
        self,
        method: str,
        target: _VettedTarget,
        headers: Mapping[str, str],
        body: bytes | None,
        deadline: float,
        timeout: float,
        body_limit: _BodyLimit,
    ) -> _Exchange:
        described = f"{method} {redacted_url(target.url)}"
        watchdog = DeadlineWatchdog(deadline)
        opener = urllib.request.OpenerDirector()
        opener.addheaders = [("User-Agent", USER_AGENT)]
        opener.add_handler(_PinnedHTTPHandler(target.addresses, watchdog))
        if urlsplit(target.url).scheme == "https":  # each hop is vetted and exchanged on its own
            opener.add_handler(_PinnedHTTPSHandler(target.addresses, watchdog, self._tls_context))
        http_request = urllib.request.Request(target.url, data=body, headers=dict(headers), method=method)
        remaining = _remaining(deadline, described, timeout)
        response: http.client.HTTPResponse | None = None
        try:
            # The socket timeout bounds each read or write only; the watchdog bounds the whole
            # exchange, so a server dripping its headers a byte at a time cannot outlast the deadline.
            with watchdog:
                response = _open(opener, http_request, remaining, watchdog, described, timeout)
                response_headers = _header_dict(response)
                response_body, truncated = _read_body(
                    response, response_headers, watchdog, deadline, _Reading(described, timeout, body_limit)
                )
                status = response.status
        finally:
            # Closed only once the watchdog is disarmed, never under its shutdown. Closing a response
            # whose body was cut short closes its connection: the rest of the body is never read.
            if response is not None:
                response.close()
        return _Exchange(status=status, headers=response_headers, body=response_body, body_truncated=truncated)


class _Reading(NamedTuple):
    described: str  # method and redacted URL, for messages
    timeout: float
    limit: _BodyLimit


def _read_body(
    response: http.client.HTTPResponse,
    headers: Mapping[str, str],
    watchdog: DeadlineWatchdog,
    deadline: float,
    reading: _Reading,
) -> tuple[bytes, bool]:
    """The body and whether it was cut short; per ``reading.limit``, a cut fails instead."""
    limit = reading.limit.max_bytes
    too_large = f"{reading.described}: response body exceeds the limit of {limit} bytes{reading.limit.setting_named}"
    timed_out = f"{reading.described}: timed out after {reading.timeout:g} s reading the body"
    chunks: list[bytes] = []

    def cut_short(failure: str) -> tuple[bytes, bool]:
        if not reading.limit.truncate:
            raise OutboundRequestFailed(failure)
        return b"".join(chunks)[:limit], True

    declared = headers.get("content-length", "")
    # isdigit() alone accepts superscripts and other Unicode digits that int() refuses.
    if declared.isascii() and declared.isdigit() and int(declared) > limit and not reading.limit.truncate:
        raise OutboundRequestFailed(too_large)
    received = 0
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return cut_short(timed_out)
            for connected in watchdog.sockets:
                # Each read waits at most until the overall deadline, so a slow drip cannot stall a turn.
                connected.settimeout(remaining)
            # Never more than one byte past the limit: that byte tells a body over it from one exactly at it.
            chunk = response.read1(min(_READ_CHUNK_BYTES, limit + 1 - received))
            received += len(chunk)
            chunks.append(chunk)
            if watchdog.fired:  # the watchdog's shutdown reads as an end of file: the body is cut short
                return cut_short(timed_out)
            if not chunk:
                # read1() reports a connection closed before the declared Content-Length as a plain end
                # of file (read() would raise IncompleteRead): what is still owed says it was cut short.
                if response.length:
                    return cut_short(f"{reading.described}: reading the body failed: IncompleteRead")
                return b"".join(chunks), False
            if received > limit:
                return cut_short(too_large)
    except TimeoutError:
        return cut_short(timed_out)
    except (OSError, http.client.HTTPException) as error:
        if watchdog.fired:
            return cut_short(timed_out)
        return cut_short(f"{reading.described}: reading the body failed: {type(error).__name__}")


def _open(
    opener: urllib.request.OpenerDirector,
    http_request: urllib.request.Request,
    remaining: float,
    watchdog: DeadlineWatchdog,
    described: str,
    timeout: float,
) -> http.client.HTTPResponse:
    timed_out = OutboundRequestFailed(f"{described}: timed out after {timeout:g} s")
    try:
        response: http.client.HTTPResponse = opener.open(http_request, timeout=remaining)
    except ValueError as error:  # http.client rejects header names/values with control characters
        raise OutboundRequestRefused(f"{described}: invalid request header: {error}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if watchdog.fired or isinstance(reason, TimeoutError):
            raise timed_out from None
        raise OutboundRequestFailed(f"{described}: connection failed: {reason}") from None
    except TimeoutError:
        raise timed_out from None
    except (OSError, http.client.HTTPException) as error:
        if watchdog.fired:  # the watchdog's shutdown surfaces as a reset or a closed connection
            raise timed_out from None
        raise OutboundRequestFailed(f"{described}: {type(error).__name__}: {error}") from None
    return response


def _remaining(deadline: float, described: str, timeout: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OutboundRequestFailed(f"{described}: timed out after {timeout:g} s")
    return remaining


def _connect_pinned(
    addresses: Sequence[str], port: int, timeout: Any, source_address: tuple[str, int] | None
) -> socket.socket:
    """Connect to the first reachable vetted address; the host name is never resolved again.

    ``timeout`` bounds all the addresses together, not each: a host with several unreachable addresses
    (A and AAAA records) must not hold a request for several times its timeout.
    """
    last_error: OSError | None = None
    deadline = time.monotonic() + timeout if isinstance(timeout, int | float) else None
    for address in addresses:
        left = timeout if deadline is None else deadline - time.monotonic()
        if deadline is not None and left <= 0:
            raise TimeoutError(f"no vetted address answered within {timeout:g} s")
        try:
            connected = socket.create_connection((address, port), left, source_address)
        except OSError as error:
            last_error = error
            continue
        with contextlib.suppress(OSError):  # an optimisation only; some socket types refuse it
            connected.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connected
    assert last_error is not None  # addresses is never empty: _vet refuses an empty resolution
    raise last_error


def _source_address(connection: http.client.HTTPConnection) -> tuple[str, int] | None:
    # Set by HTTPConnection.__init__ but missing from typeshed's stubs.
    return getattr(connection, "source_address", None)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, addresses: Sequence[str], watchdog: DeadlineWatchdog, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._pinned_addresses = addresses
        self._watchdog = watchdog

    def connect(self) -> None:
        self.sock = _connect_pinned(self._pinned_addresses, self.port, self.timeout, _source_address(self))
        self._watchdog.watch(self.sock)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(
        self,
        host: str,
        *,
        addresses: Sequence[str],
        watchdog: DeadlineWatchdog,
        tls_context: ssl.SSLContext,
        **kwargs: Any,
    ) -> None:
        super().__init__(host, context=tls_context, **kwargs)
        self._pinned_addresses = addresses
        self._watchdog = watchdog
        self._tls_context = tls_context

    def connect(self) -> None:
        raw = _connect_pinned(self._pinned_addresses, self.port, self.timeout, _source_address(self))
        # SNI and certificate verification use the URL's host name, not the pinned address. The
        # handshake needs no watchdog: ssl bounds the whole of it by the socket timeout.
        self.sock = self._tls_context.wrap_socket(raw, server_hostname=self.host)
        self._watchdog.watch(self.sock)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, addresses: Sequence[str], watchdog: DeadlineWatchdog) -> None:
        super().__init__()
        self._connection_class = functools.partial(_PinnedHTTPConnection, addresses=addresses, watchdog=watchdog)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection_class, req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, addresses: Sequence[str], watchdog: DeadlineWatchdog, tls_context: ssl.SSLContext) -> None:
        super().__init__(context=tls_context)
        self._connection_class = functools.partial(
            _PinnedHTTPSConnection, addresses=addresses, watchdog=watchdog, tls_context=tls_context
        )

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection_class, req)


def _header_dict(response: http.client.HTTPResponse) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _origin(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or ""), parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return "", url, 0
