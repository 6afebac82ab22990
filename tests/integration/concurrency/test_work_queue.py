"""The work queue adapters beyond the port's contract (tests/contract/test_work_queue.py): lazy clients,
configuration errors, record shape, wiring."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from workflow_service.adapters.aws.work_queue import SqsWorkQueue
from workflow_service.adapters.local.work_queue import LocalWorkQueue, create_local_work_queue
from workflow_service.errors import UpstreamUnavailable
from workflow_service.settings import Settings
from workflow_service.wiring import Services

REGION = "us-east-1"
RUN_ID = "5eb7cf5a86d9755df3a6c593"


@pytest.fixture
def sqs(mocked_aws: str) -> Iterator[Any]:
    yield boto3.client("sqs", region_name=REGION)


def test_the_sqs_client_is_created_on_the_first_enqueue_only(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="run-work")["QueueUrl"]
    created: list[int] = []

    def client_factory() -> Any:
        created.append(1)
        return sqs

    queue = SqsWorkQueue(url, client_factory)
    assert created == []  # nothing is built (or imported) until a run is actually queued
    queue.enqueue_run(RUN_ID)
    queue.enqueue_run(RUN_ID)
    assert created == [1]


def test_sqs_work_queue_failure_is_an_upstream_error_naming_the_run(sqs: Any) -> None:
    missing = f"https://sqs.{REGION}.amazonaws.com/123456789012/no-such-queue"
    queue = SqsWorkQueue(missing, lambda: sqs)
    with pytest.raises(UpstreamUnavailable, match=RUN_ID):
        queue.enqueue_run(RUN_ID)


def test_unconfigured_sqs_work_queue_says_what_to_set() -> None:
    with pytest.raises(UpstreamUnavailable, match="RUN_WORK_QUEUE_URL"):
        SqsWorkQueue(None, lambda: pytest.fail("no client may be created")).enqueue_run(RUN_ID)


def test_local_work_queue_delivers_an_sqs_event_record_of_the_work_queue() -> None:
    queue = LocalWorkQueue(create_local_work_queue())
    queue.enqueue_run(RUN_ID)
    [record] = queue.queue.receive(10)
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue.queue.arn


def test_wiring_uses_the_local_queue_locally_and_sqs_when_a_url_is_set() -> None:
    local = Services(Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true"}))
    assert isinstance(local.concurrency.work_queue, LocalWorkQueue)
    assert local.concurrency.work_queue is local.concurrency.work_queue  # the one instance the local worker polls
    configured = Services(
        Settings.from_environ({"WORKFLOWS_LOCAL_RUNTIME": "true", "RUN_WORK_QUEUE_URL": "https://sqs.example/q"})
    )
    assert isinstance(configured.concurrency.work_queue, SqsWorkQueue)
    deployed = Services(Settings.from_environ({}))
    assert isinstance(deployed.concurrency.work_queue, SqsWorkQueue)


def test_sqs_webhook_delivery_queue_failure_is_an_upstream_error_naming_the_event(sqs: Any) -> None:
    # Given the delivery queue's adapter pointed at a queue that does not exist
    from workflow_service.adapters.aws.webhook_delivery_queue import SqsWebhookDeliveryQueue

    missing = f"https://sqs.{REGION}.amazonaws.com/123456789012/no-such-queue"
    queue = SqsWebhookDeliveryQueue(missing, lambda: sqs)
    # When an event is sent, Then the failure is a 503-class error naming the event
    with pytest.raises(UpstreamUnavailable, match="webhook event evt-1 for delivery"):
        queue.send("evt-1", delay_seconds=5)
