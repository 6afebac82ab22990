"""Webhook delivery under crashes: one event, one subscription, a receiver, the real delivery handler.

The delivery is a multi-write operation across two systems (the event store and the receiver): take
the event (lease), POST, log the attempt, finish it, and for a retry, queue the next attempt. A crash
at any of those steps must leave an event that is still delivered (at least once: the lease expires,
the message is redelivered or the reaper's due sweep re-sends it), never sent again once it was
recorded delivered, and whose counted attempts are each logged once.

Settling a world here also drains the delivery queue with the real handler after every reaper pass,
as the deployed event source mapping would. The invariants (checked by ``check``):

- W1 (at least once): the event ends ``delivered`` and the receiver got it at least once;
- W2 (no attempt after the finish): no POST reaches the receiver once the event is recorded delivered;
- W3 (the attempt log): the logged attempt numbers are exactly 1..attempts_count, and no lease is left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from local.sqs_event_source import LocalQueuePoller
from tests.fakes.webhooks import InMemoryWebhookSubscriptions
from tests.simulation.interception import InterceptedPort
from tests.simulation.invariants import Violation
from tests.simulation.scenarios import Context, Operation
from tests.simulation.world import REAPER_PERIOD, World
from tests.unit.webhooks.support import a_subscription, an_event
from workflow_service.adapters.local.sqs_queue import LocalSqsQueue
from workflow_service.adapters.local.webhook_delivery_queue import LocalWebhookDeliveryQueue
from workflow_service.adapters.mongo.webhook_events import WEBHOOK_ATTEMPTS, WEBHOOK_EVENTS
from workflow_service.ports.http import OutboundRequest, OutboundResponse

DRAIN_ROUNDS = 5


class Receiver:
    """The subscriber: answers ``statuses`` in turn (then 200); notes a POST of an event already delivered."""

    def __init__(self, world: World, statuses: list[int]) -> None:
        self._world = world
        self._statuses = list(statuses)
        self.received: list[str] = []
        self.after_delivery: list[str] = []

    def send(self, request: OutboundRequest) -> OutboundResponse:
        event_id = request.headers["webhook-id"]
        stored = self._world.plain.raw[WEBHOOK_EVENTS].find_one({"_id": event_id})
        if stored is not None and stored["status"] == "delivered":
            self.after_delivery.append(event_id)
        self.received.append(event_id)
        status = self._statuses.pop(0) if self._statuses else 200
        return OutboundResponse(status=status, headers={}, body=b"ok", elapsed_ms=1.0)


@dataclass
class DeliveryContext(Context):
    event_id: str = ""
    receiver: Any = None
    queue: Any = None
    record: dict[str, Any] = field(default_factory=dict)


def _deliver(records: list[dict[str, Any]]) -> Any:
    from deliver_webhook_events import handler

    return handler({"Records": records}, None)


def with_event(statuses: list[int]):
    """A subscription whose receiver answers ``statuses``, its event written and its message received."""

    def prepare(world: World) -> DeliveryContext:
        team = world.team(1)
        subscription = a_subscription(team_id=team.caller.team_id, retry_backoff_seconds=10)
        subscriptions = InMemoryWebhookSubscriptions()
        subscriptions.add(subscription)
        receiver = Receiver(world, statuses)
        # Visibility 0: a message not deleted (its handler crashed) is visible again at once.
        queue = LocalSqsQueue("sim-webhook-deliveries", 0, None, clock=lambda: world.clock.now().timestamp())
        container = world.services.webhooks.__dict__
        container["subscriptions"] = subscriptions
        container["delivery_http"] = InterceptedPort(receiver, world.interceptor, "http", frozenset({"send"}))
        container["delivery_queue"] = InterceptedPort(
            LocalWebhookDeliveryQueue(queue), world.interceptor, "webhook_queue", frozenset({"send"})
        )
        event = an_event(subscription)._replace(created_at=world.clock.now())
        world.services.webhooks.events.insert_if_absent(event)
        queue.send_message(json.dumps({"event_id": event.event_id}))
        (record,) = queue.receive(1)
        context = DeliveryContext(team, "", event_id=event.event_id, receiver=receiver, queue=queue, record=record)
        _drain_after_every_settle(world, queue)
        return context

    return prepare


def _drain_after_every_settle(world: World, queue: LocalSqsQueue) -> None:
    settle_once = world.settle_once

    def settle_then_deliver(advance=REAPER_PERIOD) -> None:
        settle_once(advance)
        from deliver_webhook_events import handler

        poller = LocalQueuePoller(queue, handler, function_name="deliver_webhook_events")
        with world.acting_as("deliverer"):
            for _ in range(DRAIN_ROUNDS):
                if not poller.drain_once().delivered:
                    break

    world.settle_once = settle_then_deliver  # type: ignore[method-assign]


def deliver_message(world: World, context: Context) -> object:
    """The event source mapping: hand the message to the handler, delete it unless reported failed."""
    assert isinstance(context, DeliveryContext)
    response = _deliver([context.record])
    if not (response or {}).get("batchItemFailures"):
        context.queue.delete(context.record["receiptHandle"])
    return response


def dead_letter(world: World, context: Context) -> None:
    """The message is not retried: it went to the dead-letter queue (only the reaper's sweep is left)."""
    assert isinstance(context, DeliveryContext)
    context.queue.delete(context.record["receiptHandle"])


def check_delivery(world: World, context: Context) -> list[Violation]:
    assert isinstance(context, DeliveryContext)
    found: list[Violation] = []
    (event,) = world.documents(WEBHOOK_EVENTS, {"_id": context.event_id})
    if event["status"] != "delivered" or context.event_id not in context.receiver.received:
        ended = f"{event['status']} after {event['attempts_count']} attempts"
        found.append(Violation("W1", f"event {context.event_id} ended {ended}"))
    if context.receiver.after_delivery:
        found.append(Violation("W2", f"the receiver got {len(context.receiver.after_delivery)} POSTs after delivery"))
    numbers = sorted(attempt["attempt_number"] for attempt in world.documents(WEBHOOK_ATTEMPTS))
    if numbers != list(range(1, event["attempts_count"] + 1)) or event.get("claimed_until") is not None:
        found.append(Violation("W3", f"attempts logged {numbers} for a count of {event['attempts_count']}"))
    return found


OPERATIONS = (
    Operation("webhook delivery", with_event([]), deliver_message, give_up=dead_letter, check=check_delivery),
    Operation(
        "webhook delivery retried", with_event([500]), deliver_message, give_up=dead_letter, check=check_delivery
    ),
)
