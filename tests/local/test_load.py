"""The local runtime under a burst: every connection gets an HTTP answer, none is reset.

A burst beyond what the bounded pool can queue is answered 503 with Retry-After and a JSON body,
so a script hammering ``make run`` can tell "busy, retry" from "the service is down".
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from local.connection_pool import PoolSizes
from local.http_server import LocalHttpServer
from local.proxy_integration import IncomingRequest, OutgoingResponse, json_response
from tests.support.local_runtime import LocalService

BURST = 200
A_WORKFLOW = {
    "name": "Burst",
    "workflow_config": {"nodes": [{"logical_id": "a", "type": "no_op", "is_start": True}]},
}


def simultaneous_posts(port: int, count: int, path: str, body: bytes, headers: dict[str, str]) -> list[str]:
    """``count`` POSTs, each on its own connection, released together; each outcome as text."""
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(count)]
    release = threading.Barrier(count)
    outcomes: list[str] = []
    recording = threading.Lock()

    def post(connection: http.client.HTTPConnection) -> None:
        release.wait()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            outcome = f"{response.status}"
            if response.status == 503:
                outcome += f" Retry-After={response.getheader('Retry-After')} {json.loads(answer)['detail'][:20]}"
        except OSError as error:
            outcome = f"{type(error).__name__}: {error}"
        finally:
            connection.close()
        with recording:
            outcomes.append(outcome)

    threads = [threading.Thread(target=post, args=(connection,)) for connection in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return outcomes


@pytest.fixture(scope="module")
def service():
    running = LocalService()
    yield running
    running.stop()


def test_a_burst_of_200_simultaneous_requests_is_answered_without_a_reset(service):
    outcomes = simultaneous_posts(
        service.port,
        BURST,
        "/workflows/v1/workflows",
        json.dumps(A_WORKFLOW).encode(),
        {"Authorization": f"Bearer {service.api_key}", "Content-Type": "application/json"},
    )

    assert len(outcomes) == BURST
    tally = Counter(outcomes)
    answered = tally["200"] + sum(n for outcome, n in tally.items() if outcome.startswith("503 Retry-After=1"))
    assert answered == BURST, tally
    # The default pool queues this burst whole: every request is served, none is turned away.
    assert tally["200"] == BURST, tally


def slow_dispatcher(release: threading.Event) -> Callable[[IncomingRequest], OutgoingResponse]:
    def dispatch(request: IncomingRequest) -> OutgoingResponse:
        release.wait(10)
        return json_response(200, {"ok": True}, "request-id")

    return dispatch


def test_beyond_the_pool_and_its_queue_connections_are_answered_503_with_retry_after():
    release = threading.Event()
    server = LocalHttpServer(
        "127.0.0.1", 0, slow_dispatcher(release), PoolSizes(workers=1, queued_connections=1, retry_after_seconds=2)
    )
    port = int(server.start().rsplit(":", 1)[1])
    try:
        # One request occupies the only worker, a second waits in the only queue place...
        occupying = [threading.Thread(target=_post, args=(port,)) for _ in range(2)]
        for thread in occupying:
            thread.start()
            time.sleep(0.2)

        # ...so the third is told to come back, in the API's error style.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/anything", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()

        assert response.status == 503
        assert response.getheader("Retry-After") == "2"
        assert response.getheader("Content-Type") == "application/json"
        assert body == {"detail": "the local service is busy; retry after 2 s", "retry_after_seconds": 2}
    finally:
        release.set()
        for thread in occupying:
            thread.join(10)
        server.stop()


def _post(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/anything", body=b"{}")
    connection.getresponse().read()
    connection.close()


def test_a_request_line_too_long_for_the_http_server_is_answered_414_in_the_apis_error_shape():
    # Given the local HTTP server (whatever the dispatcher would answer)
    server = LocalHttpServer("127.0.0.1", 0, lambda request: json_response(200, {"ok": True}, "r"))
    port = int(server.start().rsplit(":", 1)[1])
    try:
        # When a request line is longer than the server reads (64 KiB)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/workflows/v1/workflows?name=" + "x" * 70_000)
        response = connection.getresponse()
        # Then it is refused with 414 and a JSON message, as every other refusal is, and the connection closes
        assert response.status == 414
        assert response.getheader("Content-Type", "").startswith("application/json")
        assert json.loads(response.read()) == {"message": "Request-URI Too Long"}
        assert response.getheader("Connection") == "close"
    finally:
        server.stop()
