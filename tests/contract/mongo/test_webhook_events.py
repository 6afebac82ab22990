"""``ports.webhooks.WebhookEvents`` over ``MongoWebhookEvents`` and the in-memory fake the unit tests use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes.clock import T0
from tests.fakes.webhooks import InMemoryWebhookEvents
from workflow_service.adapters.mongo.webhook_events import WEBHOOK_ATTEMPTS, MongoWebhookEvents
from workflow_service.ports.webhooks import (
    AttemptOutcome,
    WebhookAction,
    WebhookAttempt,
    WebhookEvent,
    WebhookEventStatus,
    event_id_for,
)

LEASE = timedelta(seconds=120)


@pytest.fixture(params=["mongo", "fake"])
def events(request: pytest.FixtureRequest):
    if request.param == "mongo":
        return MongoWebhookEvents(request.getfixturevalue("database"))
    return InMemoryWebhookEvents()


def an_event(dedupe_key: str = "workflow_run_completed:run-1:completed", *, created_at=T0) -> WebhookEvent:
    return WebhookEvent(
        event_id=event_id_for("sub-1", dedupe_key),
        subscription_id="sub-1",
        team_id="team-1",
        action=WebhookAction.WORKFLOW_RUN_COMPLETED,
        workflow_id="wf-1",
        workflow_name="Intake",
        workflow_run_id="run-1",
        workflow_run_status="completed",
        payload={"action": "workflow_run_completed", "data": {"status": "completed"}},
        dedupe_key=dedupe_key,
        created_at=created_at,
    )


def an_attempt(event: WebhookEvent, number: int, *, status_code: int | None = 500) -> WebhookAttempt:
    return WebhookAttempt(
        event_id=event.event_id,
        subscription_id=event.subscription_id,
        team_id=event.team_id,
        attempt_number=number,
        action=event.action,
        request_url="https://hooks.example.com/in",
        success=status_code == 200,
        created_at=T0,
        response_status_code=status_code,
        response_body="oops",
        latency_ms=12,
    )


def retry_at(when) -> AttemptOutcome:
    return AttemptOutcome(WebhookEventStatus.RETRYING, status_code=500, error="HTTP 500", next_retry_at=when)


def test_an_event_is_inserted_once_under_its_id_and_read_back_whole(events):
    # Given an event written by the emitter
    event = an_event()
    assert events.insert_if_absent(event) is True
    # When a retried emission writes the same event again
    again = events.insert_if_absent(an_event())
    # Then nothing is written twice, and the event reads back as written
    assert again is False
    assert events.get(event.event_id) == event
    assert events.get("0" * 24) is None


def test_begin_attempt_takes_a_pending_event_once_until_its_lease_expires(events):
    event = an_event()
    events.insert_if_absent(event)
    # When a deliverer takes it, a second deliverer gets nothing while the lease holds
    assert events.begin_attempt(event.event_id, now=T0, lease_until=T0 + LEASE) == event
    assert events.begin_attempt(event.event_id, now=T0 + timedelta(seconds=60), lease_until=T0 + LEASE * 2) is None
    # Then once the lease has expired (the first deliverer died), another deliverer may take it
    later = T0 + LEASE + timedelta(seconds=1)
    assert events.begin_attempt(event.event_id, now=later, lease_until=later + LEASE) is not None
    assert events.begin_attempt("f" * 24, now=later, lease_until=later + LEASE) is None


def test_finishing_an_attempt_counts_it_releases_the_lease_and_sets_the_retry_time(events):
    event = an_event()
    events.insert_if_absent(event)
    events.begin_attempt(event.event_id, now=T0, lease_until=T0 + LEASE)
    retry = T0 + timedelta(seconds=10)
    # When attempt 1 fails with a retry due 10 s later
    assert events.finish_attempt(event.event_id, 1, retry_at(retry), now=T0 + timedelta(seconds=1)) is True
    stored = events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.next_retry_at) == (WebhookEventStatus.RETRYING, 1, retry)
    assert (stored.last_status_code, stored.last_error, stored.last_attempt_at) == (
        500,
        "HTTP 500",
        T0 + timedelta(seconds=1),
    )
    # Then it cannot be taken before the retry is due, even though the lease is gone, and can after
    assert events.begin_attempt(event.event_id, now=T0 + timedelta(seconds=5), lease_until=T0 + LEASE) is None
    assert events.begin_attempt(event.event_id, now=retry, lease_until=retry + LEASE) is not None


def test_a_second_finish_of_the_same_attempt_changes_nothing(events):
    event = an_event()
    events.insert_if_absent(event)
    events.begin_attempt(event.event_id, now=T0, lease_until=T0 + LEASE)
    delivered = AttemptOutcome(WebhookEventStatus.DELIVERED, status_code=200)
    assert events.finish_attempt(event.event_id, 1, delivered, now=T0) is True
    # When a duplicate deliverer finishes attempt 1 again (or any attempt of a delivered event)
    assert events.finish_attempt(event.event_id, 1, retry_at(T0), now=T0) is False
    assert events.finish_attempt(event.event_id, 2, retry_at(T0), now=T0) is False
    # Then the event stays delivered, with one attempt counted, and cannot be attempted again
    stored = events.get(event.event_id)
    assert (stored.status, stored.attempts_count, stored.delivered_at, stored.next_retry_at) == (
        WebhookEventStatus.DELIVERED,
        1,
        T0,
        None,
    )
    assert events.begin_attempt(event.event_id, now=T0 + LEASE * 2, lease_until=T0 + LEASE * 3) is None


def test_a_finish_out_of_turn_is_refused(events):
    event = an_event()
    events.insert_if_absent(event)
    # Attempt 2 cannot finish while the event counts no attempt
    assert events.finish_attempt(event.event_id, 2, retry_at(T0), now=T0) is False
    assert events.get(event.event_id).attempts_count == 0
    failed = AttemptOutcome(WebhookEventStatus.FAILED, error="subscription deleted")
    assert events.finish_attempt(event.event_id, 1, failed, now=T0) is True
    assert events.get(event.event_id).status is WebhookEventStatus.FAILED


def test_an_attempt_is_logged_once_unless_replaced(events, request):
    event = an_event()
    events.insert_if_absent(event)
    assert events.record_attempt(an_attempt(event, 1, status_code=500)) is True
    # When a redelivered message records the same attempt with another result
    assert events.record_attempt(an_attempt(event, 1, status_code=200)) is False
    assert events.record_attempt(an_attempt(event, 2, status_code=500)) is True
    # And the deliverer that finished attempt 2 replaces an earlier record of it
    events.replace_attempt(an_attempt(event, 2, status_code=200))
    # Then the first record of attempt 1 stands, beside the replaced attempt 2
    if isinstance(events, InMemoryWebhookEvents):
        logged = {number: attempt.response_status_code for (_, number), attempt in events.attempts.items()}
    else:
        documents = request.getfixturevalue("database")[WEBHOOK_ATTEMPTS].find({}, sort=[("attempt_number", 1)])
        assert [document["_id"] for document in documents] == [f"{event.event_id}:1", f"{event.event_id}:2"]
        logged = {document["attempt_number"]: document["response_status_code"] for document in documents}
    assert logged == {1: 500, 2: 200}


def test_due_lists_open_events_past_their_time_with_a_free_lease_oldest_first(events):
    # Given a fresh event, an older one retrying due now, one retrying later, one leased and one delivered
    fresh = an_event("fresh", created_at=T0)
    retrying = an_event("retrying", created_at=T0 - timedelta(hours=1))
    later = an_event("later", created_at=T0 - timedelta(hours=1))
    leased = an_event("leased", created_at=T0 - timedelta(hours=2))
    delivered = an_event("delivered", created_at=T0 - timedelta(hours=3))
    for event in (fresh, retrying, later, leased, delivered):
        events.insert_if_absent(event)
    start = T0 - timedelta(hours=1)
    events.begin_attempt(retrying.event_id, now=start, lease_until=start + LEASE)
    events.finish_attempt(retrying.event_id, 1, retry_at(T0 - timedelta(minutes=5)), now=start)
    events.begin_attempt(later.event_id, now=start, lease_until=start + LEASE)
    events.finish_attempt(later.event_id, 1, retry_at(T0 + timedelta(minutes=5)), now=start)
    events.begin_attempt(leased.event_id, now=T0, lease_until=T0 + LEASE)
    events.begin_attempt(delivered.event_id, now=start, lease_until=start + LEASE)
    events.finish_attempt(delivered.event_id, 1, AttemptOutcome(WebhookEventStatus.DELIVERED, 200), now=start)
    # When the reaper asks for what is due at T0
    due = events.due(now=T0, limit=10)
    # Then it gets the retry that is due and the fresh event, in order of due time, and respects the limit
    assert [event.dedupe_key for event in due] == ["retrying", "fresh"]
    assert [event.dedupe_key for event in events.due(now=T0, limit=1)] == ["retrying"]
    # And the leased one once its lease has expired
    assert "leased" in [event.dedupe_key for event in events.due(now=T0 + LEASE, limit=10)]
