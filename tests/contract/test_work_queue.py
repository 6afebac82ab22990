"""``ports.WorkQueue``: the same assertions over SQS (moto) and the local runtime's in-process queue.

Each implementation comes with the receiving end the run worker reads, so "enqueued" means "a message
the worker will be handed". What the queue then does with a message (visibility, redelivery, the DLQ)
is tests/contract/test_sqs_queue.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import pytest

from workflow_service.adapters.aws.work_queue import SqsWorkQueue
from workflow_service.adapters.local.work_queue import LocalWorkQueue, create_local_work_queue
from workflow_service.models.concurrency import WorkMessage
from workflow_service.ports import WorkQueue

RUN_ID = "5eb7cf5a86d9755df3a6c593"
OTHER_RUN_ID = "5eb7cf5a86d9755df3a6c594"


@dataclass
class WorkQueueUnderTest:
    queue: WorkQueue
    receive_bodies: Callable[[], list[str]]  # every message body the worker could receive now


def sqs(request: pytest.FixtureRequest) -> WorkQueueUnderTest:
    client = boto3.client("sqs", region_name=request.getfixturevalue("mocked_aws"))
    url = client.create_queue(QueueName="run-work")["QueueUrl"]

    def receive_bodies() -> list[str]:
        messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [message["Body"] for message in messages]

    return WorkQueueUnderTest(SqsWorkQueue(url, lambda: client), receive_bodies)


def local(request: pytest.FixtureRequest) -> WorkQueueUnderTest:
    queue = LocalWorkQueue(create_local_work_queue())
    return WorkQueueUnderTest(queue, lambda: [record["body"] for record in queue.queue.receive(10)])


@pytest.fixture(params=[sqs, local], ids=["sqs", "local"])
def subject(request: pytest.FixtureRequest) -> WorkQueueUnderTest:
    return request.param(request)


def test_an_enqueued_run_reaches_the_worker_as_a_work_message_naming_it(subject):
    # When a run is enqueued
    subject.queue.enqueue_run(RUN_ID)
    # Then the worker receives exactly one message, and it parses back to that run id
    [body] = subject.receive_bodies()
    assert WorkMessage.from_body(body).run_id == RUN_ID


def test_every_enqueue_is_its_own_message(subject):
    # When one run is enqueued twice (a retried dispatch) and another once
    for run_id in (RUN_ID, RUN_ID, OTHER_RUN_ID):
        subject.queue.enqueue_run(run_id)
    # Then three messages wait (a standard queue neither merges nor orders them)
    run_ids = Counter(WorkMessage.from_body(body).run_id for body in subject.receive_bodies())
    assert run_ids == {RUN_ID: 2, OTHER_RUN_ID: 1}
