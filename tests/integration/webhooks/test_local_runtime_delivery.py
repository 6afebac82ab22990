"""The local runtime delivers webhook events to a receiver on 127.0.0.1 from its own background deliverer."""

from __future__ import annotations

import time

from standardwebhooks.webhooks import Webhook

from local.runtime import LocalRuntime
from tests.fakes.webhooks import InMemoryWebhookSubscriptions
from tests.support.local_runtime import free_port
from tests.unit.webhooks.support import SECRET, a_subscription, an_event
from workflow_service.ports.webhooks import WebhookEventStatus


def test_a_started_local_runtime_delivers_a_queued_event_to_a_loopback_receiver(receiver):
    runtime = LocalRuntime.from_environment("127.0.0.1", free_port(), {"WORKFLOWS_DEV_API_KEY": "wfk_dev_webhooks"})
    runtime.start()
    try:
        webhooks = runtime.services.webhooks
        subscriptions = InMemoryWebhookSubscriptions()
        webhooks.__dict__["subscriptions"] = subscriptions
        subscription = subscriptions.add(a_subscription(url=receiver.url))
        event = an_event(subscription)._replace(created_at=runtime.services.core.clock.now())
        webhooks.events.insert_if_absent(event)
        # When the event's message is queued, as the emitter does
        webhooks.delivery_queue.send(event.event_id)
        deadline = time.monotonic() + 10
        while webhooks.events.get(event.event_id).status is not WebhookEventStatus.DELIVERED:
            assert time.monotonic() < deadline, "the local runtime did not deliver the event"
            time.sleep(0.05)
    finally:
        runtime.stop()
    # Then the receiver got it over plain http on 127.0.0.1, signed
    (request,) = receiver.received
    assert Webhook(SECRET).verify(request["body"], request["headers"]) == event.payload
