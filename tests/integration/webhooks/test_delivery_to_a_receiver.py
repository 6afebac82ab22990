"""Deliveries to a real receiver on 127.0.0.1 through the local delivery queue, the real handler and MongoDB."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

from standardwebhooks.webhooks import Webhook

from tests.integration.webhooks.conftest import emit
from tests.unit.webhooks.support import SECRET
from workflow_service.adapters.mongo.webhook_events import WEBHOOK_ATTEMPTS
from workflow_service.ports.webhooks import SigningSecret, WebhookEventStatus

NEW_SECRET = "whsec_" + base64.b64encode(b"n" * 24).decode()


def attempts_in_store(services, event_id: str) -> list[dict]:
    return services.core.database[WEBHOOK_ATTEMPTS].find({"event_id": event_id}, sort=[("attempt_number", 1)])


def test_a_delivery_is_signed_with_both_schemes_and_logged(services, subscribe, receiver, deliverer):
    # Given a subscription with a bearer token, and an event written for it
    subscription = subscribe(bearer_token="tok-123")
    event = emit(services, subscription)
    # When the delivery function takes the queued message
    outcome = deliverer.drain_once()
    # Then the receiver got one POST, which verifies with the standardwebhooks library and as hex HMAC
    assert outcome.deleted == outcome.delivered and len(outcome.delivered) == 1
    (request,) = receiver.received
    headers, body = request["headers"], request["body"]
    assert Webhook(SECRET).verify(body, headers) == event.payload
    # Keyed with the secret's text: the product SDK's verify_signature(payload, secret, header) accepts it
    assert headers["x-interactly-signature"] == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-interactly-timestamp"] == headers["webhook-timestamp"]
    assert headers["webhook-id"] == event.event_id and headers["authorization"] == "Bearer tok-123"
    assert json.loads(body) == event.payload
    # And the event is delivered, with its attempt in the log
    stored = services.webhooks.events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.last_status_code) == (WebhookEventStatus.DELIVERED, 1, 200)
    (attempt,) = attempts_in_store(services, event.event_id)
    assert (attempt["success"], attempt["response_status_code"], attempt["response_body"]) == (True, 200, "ok")
    assert attempt["request_url"] == receiver.url and attempt["latency_ms"] >= 0


def test_after_a_rotation_receivers_on_either_secret_verify(services, subscribe, receiver, deliverer, clock):
    now = clock.now()
    subscription = subscribe(
        signing_secrets=(
            SigningSecret(NEW_SECRET, created_at=now),
            SigningSecret(SECRET, created_at=now - timedelta(days=1), expires_at=now + timedelta(hours=24)),
        )
    )
    emit(services, subscription)
    deliverer.drain_once()
    (request,) = receiver.received
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    Webhook(NEW_SECRET).verify(request["body"], request["headers"])
    Webhook(SECRET).verify(request["body"], request["headers"])


def test_a_500_then_a_200_is_delivered_on_the_second_attempt_after_the_backoff(
    services, subscribe, receiver, deliverer, clock
):
    # Given a receiver that fails once, and a subscription retrying after 1 s
    receiver.statuses = [500]
    subscription = subscribe(retry_backoff_seconds=1)
    event = emit(services, subscription)
    deliverer.drain_once()
    assert services.webhooks.events.get(event.event_id).status is WebhookEventStatus.RETRYING
    # When the retry is polled for before its delay, nothing is sent
    assert deliverer.drain_once().delivered == ()
    # Then once the delay has passed, the queued retry delivers it
    time.sleep(2.05)
    clock.advance(seconds=2.05)
    assert len(deliverer.drain_once().delivered) == 1
    stored = services.webhooks.events.get(event.event_id)
    assert (stored.status, stored.attempts_count) == (WebhookEventStatus.DELIVERED, 2)
    assert [a["response_status_code"] for a in attempts_in_store(services, event.event_id)] == [500, 200]
    first, second = receiver.received
    assert second["at"] - first["at"] >= timedelta(seconds=1)
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == event.event_id


def test_the_reaper_re_sends_an_event_whose_message_was_lost(services, subscribe, receiver, deliverer, clock):
    # Given an event written without its queue message (a crash between the two)
    subscription = subscribe()
    written = emit(services, subscription)
    deliverer.drain_once()
    event = written._replace(event_id="0" * 24, dedupe_key="lost")
    services.webhooks.events.insert_if_absent(event)
    deliverer.drain_once()
    assert services.webhooks.events.get(event.event_id).status is WebhookEventStatus.PENDING
    # When a reaper pass runs after the due grace
    clock.advance(seconds=61)
    summary = services.reaper.service.reap()
    # Then it re-sent the event, and the deliverer delivers it
    assert summary["webhook_events_redispatched"] == 1
    deliverer.drain_once()
    assert services.webhooks.events.get(event.event_id).status is WebhookEventStatus.DELIVERED


def test_an_unreadable_message_is_reported_failed_and_the_rest_of_the_batch_delivered(
    services, subscribe, receiver, deliverer
):
    subscription = subscribe()
    services.webhooks.delivery_queue.queue.send_message("not json")
    event = emit(services, subscription)
    outcome = deliverer.drain_once()
    assert len(outcome.failed) == 1 and len(outcome.deleted) == 1
    assert services.webhooks.events.get(event.event_id).status is WebhookEventStatus.DELIVERED


def test_plain_http_and_loopback_are_refused_outside_the_local_runtime(services, subscribe, database, clock):
    from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue
    from workflow_service import wiring
    from workflow_service.settings import Settings

    deployed = wiring.Services(Settings.from_environ({"STAGE": "test"}), database=database, clock=clock)
    deployed.webhooks.__dict__["subscriptions"] = services.webhooks.subscriptions
    deployed.webhooks.__dict__["delivery_queue"] = InMemoryWebhookDeliveryQueue()
    subscription = subscribe(max_retries=0)
    event = emit(services, subscription)
    deployed.webhooks.delivery.deliver(event.event_id)
    stored = deployed.webhooks.events.get(event.event_id)
    assert stored.status is WebhookEventStatus.FAILED and "https" in stored.last_error


# -- the status decides: an answer's body is read only as far as the attempt log keeps it ----------


def test_a_2xx_with_a_body_over_a_megabyte_is_delivered_once(services, subscribe, receiver, deliverer):
    # Given a receiver that accepts with 200 and a body over the 1 MB response limit (a framework's HTML page)
    receiver.body = b"<html>" + b"x" * 1_100_000 + b"</html>"
    subscription = subscribe()
    event = emit(services, subscription)
    # When the delivery function takes the queued message
    deliverer.drain_once()
    # Then the event is delivered after one POST, and nothing is queued to POST it again
    stored = services.webhooks.events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.last_status_code, stored.last_error) == (
        WebhookEventStatus.DELIVERED,
        1,
        200,
        None,
    )
    assert len(receiver.received) == 1
    assert deliverer.drain_once().delivered == ()
    # And the attempt log keeps the status and the start of the body
    (attempt,) = attempts_in_store(services, event.event_id)
    assert (attempt["success"], attempt["response_status_code"]) == (True, 200)
    assert attempt["response_body"] == ("<html>" + "x" * 1_100_000)[:1024]


def test_a_2xx_whose_body_is_slower_than_the_timeout_is_delivered(services, subscribe, receiver, deliverer):
    # Given a receiver whose 200 status line and headers arrive at once, and whose body stalls after 5 bytes
    receiver.body, receiver.stall_after = b"accepted, thanks", 5
    subscription = subscribe(timeout_seconds=1)
    event = emit(services, subscription)
    # When the delivery function takes the queued message
    started = time.monotonic()
    deliverer.drain_once()
    # Then it stopped waiting for the body at the subscription's timeout
    assert time.monotonic() - started < 3
    # And the event is delivered after one POST, with the status and the part of the body that arrived logged
    stored = services.webhooks.events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.last_status_code) == (WebhookEventStatus.DELIVERED, 1, 200)
    assert len(receiver.received) == 1
    (attempt,) = attempts_in_store(services, event.event_id)
    assert (attempt["success"], attempt["response_status_code"], attempt["response_body"]) == (True, 200, "accep")
    assert attempt["error_message"] is None


def test_a_500_with_a_huge_body_is_retried_with_its_status_and_the_start_of_its_body(
    services, subscribe, receiver, deliverer
):
    # Given a receiver that fails with 500 and a 2 MB error page, and a subscription allowing one retry
    receiver.statuses, receiver.body = [500], b"E" * 2_000_000
    subscription = subscribe(max_retries=1, retry_backoff_seconds=30)
    event = emit(services, subscription)
    # When the delivery function takes the queued message
    deliverer.drain_once()
    # Then the attempt failed on its status (not on the body's size) and the event is retrying
    stored = services.webhooks.events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.last_status_code, stored.last_error) == (
        WebhookEventStatus.RETRYING,
        1,
        500,
        "HTTP 500",
    )
    (attempt,) = attempts_in_store(services, event.event_id)
    assert (attempt["success"], attempt["response_status_code"], attempt["response_body"]) == (False, 500, "E" * 1024)
