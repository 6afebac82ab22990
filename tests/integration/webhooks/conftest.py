"""A receiver on 127.0.0.1, a subscription to it, and the local delivery queue polled by the real handler.

The clock starts at the real time: receivers verify ``webhook-timestamp`` against their own clock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from local.webhook_delivery_emulation import create_local_webhook_delivery_component
from tests.fakes.clock import ManualClock
from tests.fakes.webhooks import InMemoryWebhookSubscriptions
from tests.unit.webhooks.support import a_subscription, an_event


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@dataclass
class Receiver:
    """Answers POSTs with ``statuses`` in turn (then 200) and ``body``, and keeps what it received
    (header names lower-cased: HTTP header names are case-insensitive, and urllib capitalizes them).

    ``stall_after``: send only that many bytes of the body (its full Content-Length declared), then
    send nothing more until the test ends, like a receiver whose answer is slower than the timeout.
    """

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    body: bytes = b"ok"
    stall_after: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/workflows"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    released = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            state.received.append({"path": self.path, "headers": headers, "body": body, "at": datetime.now(UTC)})
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            # OSError: the client closed the connection without reading the whole body.
            with contextlib.suppress(OSError):
                if state.stall_after is None:
                    self.wfile.write(state.body)
                else:
                    self.wfile.write(state.body[: state.stall_after])
                    self.wfile.flush()
                    released.wait(10)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_port
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield state
    finally:
        released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def subscriptions(services) -> InMemoryWebhookSubscriptions:
    """Until the subscriptions block is merged, the delivery reads subscriptions from the fake."""
    fake = InMemoryWebhookSubscriptions()
    services.webhooks.__dict__["subscriptions"] = fake
    return fake


@pytest.fixture
def subscribe(subscriptions, receiver):
    def subscribe(**fields):
        return subscriptions.add(a_subscription(url=receiver.url, **fields))

    return subscribe


@pytest.fixture
def deliverer(services):
    """The local runtime's delivery component: its poller feeds the real handler from the local queue."""
    return create_local_webhook_delivery_component(SimpleNamespace(services=services)).poller


def emit(services, subscription, dedupe_key: str = "workflow_run_completed:run-1:completed"):
    """Write an event as the emitter does (created now) and queue it."""
    event = an_event(subscription, dedupe_key)._replace(created_at=services.core.clock.now())
    services.webhooks.events.insert_if_absent(event)
    services.webhooks.delivery_queue.send(event.event_id)
    return event
