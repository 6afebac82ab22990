"""``ports.webhooks.WebhookDeliveryQueue``: the same assertions over SQS (moto) and the local runtime's queue.

Each implementation comes with the receiving end the delivery function reads, so "sent" means "a
message the deliverer will be handed", and a delayed message is not handed over before its delay.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import pytest

from workflow_service.adapters.aws.webhook_delivery_queue import SqsWebhookDeliveryQueue
from workflow_service.adapters.local.webhook_delivery_queue import (
    LocalWebhookDeliveryQueue,
    create_local_webhook_delivery_queue,
)
from workflow_service.errors import UpstreamUnavailable
from workflow_service.ports.webhooks import WebhookDeliveryQueue

EVENT_ID = "5eb7cf5a86d9755df3a6c593"


@dataclass
class QueueUnderTest:
    queue: WebhookDeliveryQueue
    receive_bodies: Callable[[], list[str]]  # every message body the deliverer could receive now


def sqs(request: pytest.FixtureRequest) -> QueueUnderTest:
    client = boto3.client("sqs", region_name=request.getfixturevalue("mocked_aws"))
    url = client.create_queue(QueueName="webhook-deliveries")["QueueUrl"]

    def receive_bodies() -> list[str]:
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [message["Body"] for message in messages]

    return QueueUnderTest(SqsWebhookDeliveryQueue(url, lambda: client), receive_bodies)


def local(request: pytest.FixtureRequest) -> QueueUnderTest:
    queue = LocalWebhookDeliveryQueue(create_local_webhook_delivery_queue())
    return QueueUnderTest(queue, lambda: [record["body"] for record in queue.queue.receive(10)])


@pytest.fixture(params=[sqs, local], ids=["sqs", "local"])
def subject(request: pytest.FixtureRequest) -> QueueUnderTest:
    return request.param(request)


def test_a_sent_event_reaches_the_deliverer_as_a_message_naming_it(subject):
    subject.queue.send(EVENT_ID)
    [body] = subject.receive_bodies()
    assert json.loads(body) == {"event_id": EVENT_ID}


def test_a_delayed_message_is_not_handed_over_before_its_delay(subject):
    subject.queue.send(EVENT_ID, delay_seconds=600)
    assert subject.receive_bodies() == []


@pytest.mark.parametrize("delay", [-1, 901])
def test_a_delay_beyond_the_queue_maximum_is_refused_before_sending(subject, delay):
    with pytest.raises(ValueError, match="900"):
        subject.queue.send(EVENT_ID, delay_seconds=delay)
    assert subject.receive_bodies() == []


def test_without_a_queue_url_sending_fails_with_a_clear_error():
    with pytest.raises(UpstreamUnavailable, match="WEBHOOK_DELIVERY_QUEUE_URL"):
        SqsWebhookDeliveryQueue(None, lambda: pytest.fail("no client without a URL")).send(EVENT_ID)
