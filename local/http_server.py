"""The HTTP/1.1 server in front of the local API Gateway: raw requests in, ``dispatch`` decides the answer.

It frames requests and responses (Content-Length or chunked bodies, API Gateway's payload limit,
keep-alive, permissive CORS for browser tools) and logs one line per request; what a request means
is the dispatcher's business. Connections are served by a bounded pool (``local.connection_pool``):
a burst waits in the listen backlog and the pool's queue, and beyond that is answered 503 with
Retry-After instead of being reset.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from local.connection_pool import ConnectionPool, PoolSizes
from local.proxy_integration import IncomingRequest, OutgoingResponse, json_response

# Reported under the gateway's name: to a developer this server is the API Gateway.
logger = logging.getLogger("local.gateway")

Dispatcher = Callable[[IncomingRequest], OutgoingResponse]

MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class LocalHttpServer:
    """Serves ``dispatch`` over HTTP: one thread accepts, a bounded pool of workers serves connections."""

    def __init__(self, host: str, port: int, dispatch: Dispatcher, pool_sizes: PoolSizes | None = None) -> None:
        self.host = host
        self.port = port
        self._dispatch = dispatch
        self._pool_sizes = pool_sizes or PoolSizes()
        self._server: _DispatchingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (the bound port when started with port 0)."""
        if self._server is None:
            raise RuntimeError("the gateway is not running; call start() first")
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):  # only for AF_UNIX, which this server never binds; keeps typing honest
            host = host.decode()
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def start(self) -> str:
        """Bind and serve on a background thread; returns ``base_url``."""
        if self._server is not None:
            return self.base_url
        self._server = _DispatchingServer((self.host, self.port), self._dispatch, self._pool_sizes)
        # A short poll interval keeps stop() prompt; idle cost is negligible.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-gateway", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.pool.stop()
        if thread is not None:
            thread.join()


class _DispatchingServer(HTTPServer):
    """Accepts on one thread and hands each connection to the pool (HTTPServer alone would serve inline)."""

    def __init__(self, address: tuple[str, int], dispatch: Dispatcher, pool_sizes: PoolSizes) -> None:
        self.dispatch = dispatch
        # The stdlib default backlog of 5 resets a burst's connections before anyone accepts them.
        self.request_queue_size = pool_sizes.listen_backlog
        self.pool = ConnectionPool(pool_sizes, serve=self._serve_connection)
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(request, client_address)

    def _serve_connection(self, connection: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(connection, client_address)
        except Exception:
            self.handle_error(connection, client_address)
        finally:
            self.shutdown_request(connection)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _DispatchingServer
    protocol_version = "HTTP/1.1"  # keep-alive, as clients of API Gateway expect
    # An idle kept-alive connection holds a pool worker; this long, and it gives the worker back.
    timeout = 5.0

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def _serve(self) -> None:
        started = time.perf_counter()
        target = self.path.split("#", 1)[0]
        raw_path, _, query_string = target.partition("?")
        try:
            body = self._read_body()
        except _BodyTooLarge:
            response = json_response(413, {"message": "Request Too Long"}, str(uuid.uuid4()))
            self.close_connection = True
        except ValueError:
            response = json_response(400, {"message": "Bad Request"}, str(uuid.uuid4()))
            self.close_connection = True
        else:
            request = IncomingRequest(
                method=self.command,
                raw_path=raw_path or "/",
                query_string=query_string,
                headers=tuple(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            response = self.server.dispatch(request)
        if self.server.pool.has_waiting_connections():
            # Others are queued for a worker: answer, then let the next connection have this one.
            self.close_connection = True
        self._write(response)
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info("%s %s %d %.1fms", self.command, raw_path, response.status, elapsed_ms)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        length = int(length_header)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_REQUEST_BODY_BYTES:
            raise _BodyTooLarge
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Trailers end with an empty line.
                while self.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BODY_BYTES:
                raise _BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: OutgoingResponse) -> None:
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection and "connection" not in names:
            self.send_header("Connection", "close")  # so a keep-alive client does not reuse a closing socket
        bodiless = response.status in (204, 304) or 100 <= response.status < 200
        if not bodiless:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line or headers too long, a malformed request line)
        answered in the API's error shape, ``{"message": ...}`` as JSON, instead of its HTML page."""
        self.close_connection = True
        phrase = message or self.responses.get(code, ("Bad Request",))[0]
        self._write(json_response(code, {"message": phrase}, str(uuid.uuid4())))
        # The request line may be unparsed (or absent): log what there is.
        command, path = getattr(self, "command", None) or "-", (getattr(self, "path", None) or "-")[:80]
        logger.info("%s %s %d (refused by the HTTP server)", command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        # One line per request is logged by _serve; http.server's own access log would duplicate it.
        return


class _BodyTooLarge(Exception):
    pass


__all__ = ["MAX_REQUEST_BODY_BYTES", "Dispatcher", "LocalHttpServer"]
