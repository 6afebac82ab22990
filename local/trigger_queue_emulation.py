"""The SQS trigger queue in the local runtime, and the local-only endpoint that sends to it.

``wiring.Services.triggers.queue`` is an in-process ``LocalSqsQueue`` (visibility timeout,
redelivery, a dead-letter queue after the deployed max receive count). This component polls that
very instance with the real ``trigger_queue_consumer`` handler, so a message behaves as it would on
AWS: a valid one starts a run, an invalid one is reported as a batch item failure, redelivered, and
finally moved to the dead-letter queue.

Developers send messages over HTTP to the running local runtime (there is no other way into its
process). The endpoint exists only here: it is not in routes.json, so it can never be deployed::

    POST /local/trigger-queue/messages   body = the message body, sent verbatim (202 + message id)
    GET  /local/trigger-queue            message counts of the queue and its dead-letter queue

e.g. ``curl -s -X POST localhost:8080/local/trigger-queue/messages -H "Authorization: Bearer $KEY"
-d '{"workflow_id": "..."}'`` (``local.local_endpoints`` checks the dev key). The body is not
validated here (the consumer does that), so invalid messages can be tried too.
"""

from __future__ import annotations

import logging
from typing import Any

from local.lambda_runtime import import_lambda_handler
from local.sqs_event_source import LocalQueuePoller
from workflow_service.adapters.local.sqs_queue import LocalSqsQueue

logger = logging.getLogger("local.trigger_queue")

CONSUMER_FUNCTION_NAME = "trigger_queue_consumer"
# As the deployed event source mapping (cdk.json trigger_queue.batch_size).
BATCH_SIZE = 10
POLL_INTERVAL_SECONDS = 0.1
CONSUMER_TIMEOUT_SECONDS = 60.0

QUEUE_PATH = "/local/trigger-queue"
MESSAGES_PATH = "/local/trigger-queue/messages"


class LocalTriggerQueueComponent:
    """start()/stop() for the local trigger-queue consumer."""

    def __init__(self, queue: LocalSqsQueue) -> None:
        self.queue = queue
        self.poller = LocalQueuePoller(
            queue,
            import_lambda_handler(CONSUMER_FUNCTION_NAME),
            batch_size=BATCH_SIZE,
            interval_seconds=POLL_INTERVAL_SECONDS,
            function_name=CONSUMER_FUNCTION_NAME,
            timeout_seconds=CONSUMER_TIMEOUT_SECONDS,
        )

    def start(self) -> None:
        self.poller.start()

    def stop(self) -> None:
        self.poller.stop()


def create_local_trigger_queue_component(runtime: Any) -> LocalTriggerQueueComponent:
    """The trigger-queue component for ``runtime`` (a started ``local.runtime.LocalRuntime``)."""
    return LocalTriggerQueueComponent(runtime.services.triggers.queue)


def handle_local_trigger_queue_request(
    queue: LocalSqsQueue, method: str, path: str, body: bytes
) -> tuple[int, dict[str, Any]] | None:
    """Serve the local-only trigger-queue endpoints; None when ``path`` is not one of them.

    Returns the status and the JSON document to answer with. ``LocalEndpointRouter`` calls this
    with the decoded request path (no query string) and the raw body.
    """
    path = path.rstrip("/")
    if path not in (QUEUE_PATH, MESSAGES_PATH):
        return None
    if path == MESSAGES_PATH and method == "POST":
        return _send(queue, body)
    if path == QUEUE_PATH and method == "GET":
        return 200, _counts(queue)
    allowed = "POST" if path == MESSAGES_PATH else "GET"
    return 405, {"detail": f"Method Not Allowed; use {allowed} {path}"}


def _send(queue: LocalSqsQueue, body: bytes) -> tuple[int, dict[str, Any]]:
    try:
        message_id = queue.send_message(body.decode("utf-8"))
    except UnicodeDecodeError:
        return 400, {"detail": "the message body must be UTF-8 text"}
    except ValueError as refused:
        # What SQS SendMessage would refuse: an empty or oversized body, characters SQS does not allow.
        return 400, {"detail": str(refused)}
    logger.info("local trigger queue: sent message %s", message_id)
    return 202, {"message_id": message_id, "queue": queue.name}


def _counts(queue: LocalSqsQueue) -> dict[str, Any]:
    document: dict[str, Any] = {
        "queue": queue.name,
        "visible": queue.approximate_visible_count(),
        "in_flight": queue.approximate_not_visible_count(),
        "max_receive_count": queue.max_receive_count,
        "visibility_timeout_seconds": queue.visibility_timeout_seconds,
    }
    dead_letters = queue.dead_letter_queue
    if dead_letters is not None:
        document["dead_letter_queue"] = {
            "queue": dead_letters.name,
            "messages": dead_letters.approximate_visible_count() + dead_letters.approximate_not_visible_count(),
        }
    return document


__all__ = [
    "MESSAGES_PATH",
    "QUEUE_PATH",
    "LocalTriggerQueueComponent",
    "create_local_trigger_queue_component",
    "handle_local_trigger_queue_request",
]
