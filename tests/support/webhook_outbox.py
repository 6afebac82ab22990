"""The webhook parts an outbox test watches, in memory: the subscription reader, an event store whose
inserts can be made to fail, and the delivery queue, installed where the real ones plug in; and the API
calls those tests make."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue, InMemoryWebhookEvents, InMemoryWebhookSubscriptions
from tests.support.api import Reply, call
from tests.support.workflows import waiting_workflow
from workflow_service.errors import StoreUnavailable
from workflow_service.ports.webhooks import WebhookAction, WebhookSubscription

ALL_ACTIONS = frozenset(WebhookAction)


class CountingEvents(InMemoryWebhookEvents):
    """Counts inserts; the next ``failures_left`` of them raise what the MongoDB adapter raises when the
    store cannot be reached."""

    def __init__(self) -> None:
        super().__init__()
        self.inserts = 0
        self.failures_left = 0

    def insert_if_absent(self, event):
        self.inserts += 1
        if self.failures_left:
            self.failures_left -= 1
            raise StoreUnavailable("event store unreachable")
        return super().insert_if_absent(event)


@dataclasses.dataclass
class Hooks:
    subscriptions: InMemoryWebhookSubscriptions
    events: CountingEvents
    queue: InMemoryWebhookDeliveryQueue

    def subscribe(self, team_id: str, name: str = "sub", actions: frozenset[WebhookAction] = ALL_ACTIONS) -> str:
        subscription_id = f"{len(self.subscriptions.subscriptions):024x}"
        self.subscriptions.add(
            WebhookSubscription(subscription_id, team_id, name, "https://example.com/hook", actions, True, None, ())
        )
        return subscription_id

    def keys(self) -> Counter[str]:
        return Counter(event.dedupe_key for event in self.events.events.values())

    def of(self, action: WebhookAction) -> list:
        return [event for event in self.events.events.values() if event.action is action]


def install_hooks(services) -> Hooks:
    """The fakes, installed before anything builds the emitter (the container caches it)."""
    installed = Hooks(InMemoryWebhookSubscriptions(), CountingEvents(), InMemoryWebhookDeliveryQueue())
    services.webhooks.__dict__.update(
        subscriptions=installed.subscriptions, events=installed.events, delivery_queue=installed.queue
    )
    return installed


def make_workflow(caller, config=None, **fields) -> str:
    body = {"name": "wf", "workflow_config": config or waiting_workflow(), **fields}
    reply = call("create_workflow", caller=caller, body=body)
    assert reply.status == 200, reply
    return reply.body["workflow"]["_id"]


def execute(caller, workflow_id, run_input, run_id=None) -> Reply:
    body = {"run_input": run_input} if run_id is None else {"run_input": run_input, "run_id": run_id}
    return call("execute_workflow", caller=caller, path={"workflow_id": workflow_id}, body=body)


def stored_run(services, run_id: str) -> dict[str, Any] | None:
    from bson import ObjectId

    return services.core.database.raw["workflow_runs"].find_one({"_id": ObjectId(run_id)})


def stored_workflow(services, workflow_id: str) -> dict[str, Any] | None:
    """The workflow's document, a tombstone included."""
    from bson import ObjectId

    return services.core.database.raw["workflows"].find_one({"_id": ObjectId(workflow_id)})
