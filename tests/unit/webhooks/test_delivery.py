"""The delivery service over in-memory ports: attempts, retries, backoff, Retry-After, 410, redirects."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

from tests.fakes.clock import T0
from tests.fakes.http import SlowBody
from tests.unit.webhooks.support import World, a_subscription, answer
from workflow_service.ports.http import OutboundRequestFailed, OutboundRequestRefused
from workflow_service.ports.webhooks import WebhookEventStatus
from workflow_service.webhooks.delivery import RESPONSE_BODY_READ_BYTES, DueDeliveries, retry_after_seconds


def attempts_of(world: World, event_id: str):
    return [attempt for (key, _), attempt in sorted(world.events.attempts.items()) if key == event_id]


def test_a_500_then_a_200_is_delivered_in_two_attempts_after_the_backoff():
    # Given a receiver that answers 500, then 200, and a subscription with a 10 s backoff
    world = World(answers=[answer(500, b"boom"), answer(200, b"ok")])
    event = world.emit()
    # When the first attempt is made
    first = world.delivery.deliver(event.event_id)
    # Then the event is retrying, due 10 s later, and its retry is queued with that delay
    assert first.outcome.status is WebhookEventStatus.RETRYING
    stored = world.events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.next_retry_at) == (
        WebhookEventStatus.RETRYING,
        1,
        T0 + timedelta(seconds=10),
    )
    assert world.queue.sent == [(event.event_id, 10)]
    # And the retry is not attempted before the backoff has passed
    world.clock.advance(seconds=9)
    assert world.delivery.deliver(event.event_id) is None
    assert len(world.http.requests) == 1
    # When the queued message arrives on time
    world.clock.advance(seconds=1)
    second = world.delivery.deliver(event.event_id)
    # Then it is delivered with two attempts logged
    assert second.outcome.status is WebhookEventStatus.DELIVERED
    stored = world.events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.delivered_at) == (
        WebhookEventStatus.DELIVERED,
        2,
        T0 + timedelta(seconds=10),
    )
    logged = attempts_of(world, event.event_id)
    assert [(a.attempt_number, a.success, a.response_status_code, a.response_body) for a in logged] == [
        (1, False, 500, "boom"),
        (2, True, 200, "ok"),
    ]
    assert logged[0].error_message == "HTTP 500" and logged[0].request_url == world.subscription.url
    assert [m.dimensions["outcome"] for m in world.metrics.named("WebhookDeliveries")] == ["retrying", "delivered"]
    # And a duplicate message afterwards sends nothing
    assert world.delivery.deliver(event.event_id) is None
    assert len(world.http.requests) == 2


def test_the_request_posts_the_payload_with_the_subscription_timeout_and_no_redirects():
    world = World(subscription=a_subscription(bearer_token="tok-1"), answers=[answer(204)])
    event = world.emit()
    world.delivery.deliver(event.event_id)
    (request,) = world.http.requests
    assert (request.method, request.url, request.timeout_seconds, request.follow_redirects) == (
        "POST",
        world.subscription.url,
        7,
        False,
    )
    assert json.loads(request.body) == event.payload
    assert request.headers["webhook-id"] == event.event_id
    assert request.headers["Authorization"] == "Bearer tok-1"
    assert request.headers["Content-Type"] == "application/json"


def test_jitter_adds_at_most_a_tenth_of_the_backoff():
    world = World(answers=[answer(502)], jitter=0.999)
    event = world.emit()
    world.delivery.deliver(event.event_id)
    due = world.events.get(event.event_id).next_retry_at - T0
    assert timedelta(seconds=10) < due < timedelta(seconds=11)
    assert world.queue.sent == [(event.event_id, 11)]


def test_with_no_retries_a_failing_receiver_fails_the_event_after_one_attempt():
    world = World(subscription=a_subscription(max_retries=0), answers=[answer(500)])
    event = world.emit()
    result = world.delivery.deliver(event.event_id)
    assert result.outcome.status is WebhookEventStatus.FAILED
    stored = world.events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.last_status_code, stored.last_error) == (
        WebhookEventStatus.FAILED,
        1,
        500,
        "HTTP 500",
    )
    assert world.queue.sent == []


def test_every_allowed_attempt_is_made_then_the_event_fails():
    world = World(
        subscription=a_subscription(max_retries=2),
        answers=[answer(500), OutboundRequestFailed("timed out after 7 s"), answer(404)],
    )
    event = world.emit()
    for _ in range(3):
        world.delivery.deliver(event.event_id)
        world.clock.advance(seconds=11)
    stored = world.events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.last_error) == (WebhookEventStatus.FAILED, 3, "HTTP 404")
    logged = attempts_of(world, event.event_id)
    assert [a.response_status_code for a in logged] == [500, None, 404]
    assert logged[1].error_message == "timed out after 7 s"
    assert world.delivery.deliver(event.event_id) is None and len(world.http.requests) == 3


def test_410_gone_disables_the_subscription_and_fails_the_event():
    world = World(answers=[answer(410)])
    event = world.emit()
    result = world.delivery.deliver(event.event_id)
    assert result.outcome.status is WebhookEventStatus.FAILED
    subscription = world.subscriptions.subscriptions[world.subscription.id]
    assert subscription.enabled is False and "410" in subscription.disabled_reason
    assert world.events.get(event.event_id).last_status_code == 410
    assert world.queue.sent == []
    # And a later event of that subscription is failed without a request
    other = world.emit("workflow_run_completed:run-2:completed")
    assert world.delivery.deliver(other.event_id).outcome.error == "subscription disabled"
    assert len(world.http.requests) == 1


def test_a_redirect_is_a_failure_not_followed():
    world = World(answers=[answer(302, headers={"location": "https://elsewhere.example.com/"})])
    event = world.emit()
    result = world.delivery.deliver(event.event_id)
    assert result.outcome.status is WebhookEventStatus.RETRYING
    assert result.outcome.error == "HTTP 302: redirects are not followed"
    assert [request.url for request in world.http.requests] == [world.subscription.url]


def test_a_longer_retry_after_on_429_or_503_is_honoured():
    world = World(answers=[answer(429, headers={"retry-after": "120"}), answer(503, headers={"retry-after": "2"})])
    event = world.emit()
    world.delivery.deliver(event.event_id)
    assert world.events.get(event.event_id).next_retry_at == T0 + timedelta(seconds=120)
    assert world.queue.sent[-1] == (event.event_id, 120)
    # A shorter Retry-After than the backoff does not shorten it
    world.clock.advance(seconds=120)
    world.delivery.deliver(event.event_id)
    assert world.events.get(event.event_id).next_retry_at == world.clock.now() + timedelta(seconds=10)


def test_retry_after_is_ignored_on_other_statuses():
    world = World(answers=[answer(500, headers={"retry-after": "600"})])
    event = world.emit()
    world.delivery.deliver(event.event_id)
    assert world.events.get(event.event_id).next_retry_at == T0 + timedelta(seconds=10)


def test_retry_after_is_capped_at_an_hour_and_left_to_the_due_sweep_beyond_900_s():
    world = World(answers=[answer(503, headers={"Retry-After": "86400"}), answer(200)])
    event = world.emit()
    result = world.delivery.deliver(event.event_id)
    assert world.events.get(event.event_id).next_retry_at == T0 + timedelta(hours=1)
    # Too long for SQS's 900 s delay: nothing is queued
    assert result.queued_delay_seconds is None and world.queue.sent == []
    # The reaper's sweep re-sends it once due (and its grace) have passed, not before
    sweep = DueDeliveries(world.events, world.queue, world.clock, grace_seconds=60)
    world.clock.advance(seconds=3600)
    assert sweep.redispatch(100) == 0
    world.clock.advance(seconds=60)
    assert sweep.redispatch(100) == 1
    assert world.queue.drain() == [event.event_id]
    assert world.delivery.deliver(event.event_id).outcome.status is WebhookEventStatus.DELIVERED


def test_retry_after_as_an_http_date():
    now = T0
    assert retry_after_seconds({"retry-after": "Tue, 01 Jan 2030 12:05:00 GMT"}, now) == 300
    assert retry_after_seconds({"retry-after": "soon"}, now) is None
    # A latin-1 superscript (str.isdigit() says yes, float() refuses it) is unreadable, not a crash.
    assert retry_after_seconds({"retry-after": "\u00b2"}, now) is None
    assert retry_after_seconds({}, now) is None


def test_a_deleted_subscription_stops_the_retries():
    world = World(answers=[answer(500)])
    event = world.emit()
    world.delivery.deliver(event.event_id)
    # When the subscription is deleted before the retry is due
    world.subscriptions.deleted.add(world.subscription.id)
    world.clock.advance(seconds=10)
    result = world.delivery.deliver(event.event_id)
    # Then the event fails without a request, and no retry is queued
    assert result.outcome.status is WebhookEventStatus.FAILED
    assert world.events.get(event.event_id).last_error == "subscription deleted"
    assert len(world.http.requests) == 1 and world.queue.sent == [(event.event_id, 10)]
    assert attempts_of(world, event.event_id)[-1].error_message == "subscription deleted"


def test_a_refused_address_is_a_failed_attempt():
    world = World(
        subscription=a_subscription(max_retries=0), answers=[OutboundRequestRefused("refused to call 10.0.0.1")]
    )
    event = world.emit()
    world.delivery.deliver(event.event_id)
    stored = world.events.get(event.event_id)
    assert (stored.status, stored.last_error) == (WebhookEventStatus.FAILED, "refused to call 10.0.0.1")


def test_the_logged_response_body_is_truncated():
    world = World(answers=[answer(500, b"x" * 10_000)])
    event = world.emit()
    world.delivery.deliver(event.event_id)
    assert len(attempts_of(world, event.event_id)[0].response_body) == 1024


def test_a_2xx_with_a_body_over_the_response_limit_is_delivered_and_only_its_start_is_read():
    # Given a receiver that accepts with 200 and a 2 MB body (over the client's 1 MB response limit)
    world = World(answers=[answer(200, b"<html>" + b"x" * 2_000_000)])
    event = world.emit()
    # When the event is attempted
    result = world.delivery.deliver(event.event_id)
    # Then it is delivered at the first attempt and no retry is queued
    assert result.outcome.status is WebhookEventStatus.DELIVERED
    assert world.queue.sent == [] and len(world.http.requests) == 1
    # And the request asked for no more of the body than the attempt log keeps, truncated rather than failed
    (request,) = world.http.requests
    assert (request.body_limit_mode, request.max_body_bytes) == ("truncate", RESPONSE_BODY_READ_BYTES)
    (logged,) = attempts_of(world, event.event_id)
    assert (logged.success, logged.response_status_code, logged.response_body) == (
        True,
        200,
        ("<html>" + "x" * 2_000_000)[:1024],
    )


def test_a_2xx_whose_body_arrives_after_the_timeout_is_delivered_with_its_status():
    # Given a receiver whose 202 status line and headers arrive in time, and only "qu" of its body
    world = World(answers=[SlowBody(answer(202, b"queued for processing"), received=b"qu")])
    event = world.emit()
    # When the event is attempted
    result = world.delivery.deliver(event.event_id)
    # Then it is delivered, with the status and the part of the body that arrived logged
    assert result.outcome.status is WebhookEventStatus.DELIVERED
    stored = world.events.get(event.event_id)
    assert (stored.status, stored.last_status_code, stored.last_error) == (WebhookEventStatus.DELIVERED, 202, None)
    (logged,) = attempts_of(world, event.event_id)
    assert (logged.success, logged.response_status_code, logged.response_body) == (True, 202, "qu")


def test_a_500_with_a_huge_body_is_retried_with_its_status_and_the_start_of_its_body_logged():
    # Given a receiver that fails with 500 and a 2 MB error page, then accepts
    world = World(answers=[answer(500, b"E" * 2_000_000), answer(200, b"ok")])
    event = world.emit()
    # When the event is attempted
    first = world.delivery.deliver(event.event_id)
    # Then the attempt failed on its status and is retried after the backoff
    assert first.outcome.status is WebhookEventStatus.RETRYING
    assert (first.outcome.status_code, first.outcome.error) == (500, "HTTP 500")
    assert world.queue.sent == [(event.event_id, 10)]
    # And when the retry is made, the event is delivered
    world.clock.advance(seconds=10)
    assert world.delivery.deliver(event.event_id).outcome.status is WebhookEventStatus.DELIVERED
    logged = attempts_of(world, event.event_id)
    assert [(a.response_status_code, a.response_body) for a in logged] == [(500, "E" * 1024), (200, "ok")]


def test_an_event_held_by_another_deliverer_is_not_attempted_twice():
    world = World(answers=[answer(200)])
    event = world.emit()
    world.events.begin_attempt(event.event_id, now=T0, lease_until=T0 + timedelta(seconds=120))
    assert world.delivery.deliver(event.event_id) is None
    assert world.http.requests == []


def test_a_late_finish_changes_nothing():
    # Given a receiver so slow that the deliverer's lease runs out, and a second deliverer delivers meanwhile
    world = World()
    event = world.emit()
    overtaken = []

    def slow(request):
        world.clock.advance(seconds=121)
        world.answers.append(answer(200))
        overtaken.append(world.delivery.deliver(event.event_id))
        return answer(200)

    world.answers.append(slow)
    # When the slow deliverer finally finishes
    result = world.delivery.deliver(event.event_id)
    # Then its finish is refused: one attempt counted, one delivery in the metrics
    assert overtaken[0].finished is True and result.finished is False
    assert world.events.get(event.event_id).attempts_count == 1
    assert len(world.metrics.named("WebhookDeliveries")) == 1
    # And the log keeps the record of the deliverer whose finish counted
    assert [(a.attempt_number, a.success) for a in attempts_of(world, event.event_id)] == [(1, True)]


def test_an_attempt_redone_after_a_crash_is_logged_with_the_outcome_that_finished_it():
    # Given a deliverer that dies after its POST (answered 500) and before finishing the attempt
    world = World(answers=[answer(500, b"boom"), answer(200, b"ok")])
    event = world.emit()
    finish = world.events.finish_attempt

    def dies(*args, **kwargs):
        world.events.finish_attempt = finish
        raise RuntimeError("the Lambda was stopped")

    world.events.finish_attempt = dies
    with contextlib.suppress(RuntimeError):
        world.delivery.deliver(event.event_id)
    # When its lease runs out and the attempt is made again, and delivered
    world.clock.advance(seconds=121)
    result = world.delivery.deliver(event.event_id)
    # Then the event and its attempt log agree: attempt 1, delivered with 200
    assert result.finished and world.events.get(event.event_id).status is WebhookEventStatus.DELIVERED
    logged = attempts_of(world, event.event_id)
    assert [(a.attempt_number, a.success, a.response_status_code) for a in logged] == [(1, True, 200)]


def test_the_due_sweep_is_bounded():
    world = World()
    for number in range(5):
        world.emit(f"k{number}")
    world.clock.advance(seconds=61)
    assert DueDeliveries(world.events, world.queue, world.clock, grace_seconds=60).redispatch(3) == 3
    assert len(world.queue.sent) == 3


def test_an_unsigned_delivery_is_never_sent():
    expired = a_subscription().signing_secrets[0]._replace(expires_at=T0 - timedelta(seconds=1))
    world = World(subscription=a_subscription(signing_secrets=(expired,), max_retries=0))
    event = world.emit()
    world.delivery.deliver(event.event_id)
    assert world.http.requests == []
    assert "no valid signing secret" in world.events.get(event.event_id).last_error
