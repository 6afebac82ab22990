"""The event log, the attempt log and the manual retry under /workflows/v1/workflow-webhooks/events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes.clock import ManualClock
from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue
from tests.integration.webhooks.subscription_api_support import create_webhook, store_attempt, store_event
from tests.support.api import call

EVENT_FIELDS = {
    "_id",
    "event_id",
    "subscription_id",
    "action",
    "team_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "workflow_id",
    "workflow_name",
    "workflow_run_id",
    "workflow_run_status",
    "payload",
    "dedupe_key",
    "status",
    "attempts_count",
    "next_retry_at",
    "delivered_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
}
OTHER_WORKFLOW = "65f1a2b3c4d5e6f708192a3c"


@pytest.fixture
def clock() -> ManualClock:
    """Fixed times (the delivery suite in this folder runs on the real time instead)."""
    return ManualClock()


@pytest.fixture
def delivery_queue(services) -> InMemoryWebhookDeliveryQueue:
    """The delivery queue the retry route sends to (delivery's container property, pre-set)."""
    queue = InMemoryWebhookDeliveryQueue()
    services.webhooks.__dict__["delivery_queue"] = queue
    return queue


def events(caller, **query) -> dict:
    reply = call("list_workflow_webhook_events", caller=caller, query=query)
    assert reply.status == 200, reply
    return reply.body


def stored_event(services, event_id: str) -> dict:
    return services.core.database.raw["webhook_events"].find_one({"_id": event_id})


def test_events_are_listed_newest_first_with_the_documented_fields(caller, other_caller, services, clock):
    hook = create_webhook(caller)
    older = store_event(services, hook, caller.team_id, at=clock.now(), dedupe_key="a")
    newer = store_event(
        services,
        hook,
        caller.team_id,
        at=clock.now() + timedelta(minutes=1),
        dedupe_key="b",
        action="workflow_run_completed",
        workflow_run_id="65f1a2b3c4d5e6f708192aaa",
        workflow_run_status="completed",
        status="delivered",
        attempts_count=1,
    )
    store_event(services, create_webhook(other_caller), other_caller.team_id, at=clock.now(), dedupe_key="c")
    listed = events(caller)
    assert listed["total"] == 2 and [e["event_id"] for e in listed["events"]] == [newer, older]
    first = listed["events"][0]
    assert set(first) == EVENT_FIELDS and first["_id"] == first["event_id"] == newer
    assert (first["action"], first["workflow_run_status"], first["status"], first["attempts_count"]) == (
        "workflow_run_completed",
        "completed",
        "delivered",
        1,
    )
    assert first["created_at"].endswith("Z") and first["team_id"] == caller.team_id
    assert "claimed_until" not in first


def test_events_are_filtered_by_every_documented_query(caller, services, clock):
    hook, other_hook = create_webhook(caller), create_webhook(caller, name="Other")
    t0 = clock.now()
    a = store_event(services, hook, caller.team_id, at=t0, dedupe_key="a", status="failed")
    b = store_event(
        services,
        other_hook,
        caller.team_id,
        at=t0 + timedelta(hours=1),
        dedupe_key="b",
        workflow_id=OTHER_WORKFLOW,
        workflow_name="Billing",
        action="workflow_deleted",
    )
    c = store_event(services, hook, caller.team_id, at=t0 + timedelta(hours=2), dedupe_key="c", status="retrying")

    def ids(**query) -> list[str]:
        return [event["event_id"] for event in events(caller, **query)["events"]]

    assert ids(subscription_id=hook["id"]) == [c, a] and ids(subscription_id=other_hook["id"]) == [b]
    assert ids(workflow_id=OTHER_WORKFLOW) == [b] and ids(action="workflow_deleted") == [b]
    assert ids(status="failed") == [a] and ids(status="retrying") == [c] and ids(status="delivered") == []
    assert ids(search="bill") == [b] and ids(search="(") == []
    start = (t0 + timedelta(minutes=30)).isoformat()
    end = (t0 + timedelta(minutes=90)).isoformat()
    assert ids(start=start) == [c, b] and ids(end=end) == [b, a] and ids(start=start, end=end) == [b]
    page = events(caller, size=1, page=2)
    assert [e["event_id"] for e in page["events"]] == [b] and page["total"] == 3


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"status": "lost"}, ["query", "status"]),
        ({"action": "nope"}, ["query", "action"]),
        ({"subscription_id": "xyz"}, ["query", "subscription_id"]),
        ({"workflow_id": "12"}, ["query", "workflow_id"]),
        ({"size": 0}, ["query", "size"]),
        ({"page": 0}, ["query", "page"]),
        ({"start": "yesterday"}, ["query", "start"]),
    ],
)
def test_a_bad_event_query_is_a_422_naming_it(caller, query, loc):
    reply = call("list_workflow_webhook_events", caller=caller, query=query)
    assert reply.status == 422 and reply.body["detail"][0]["loc"] == loc


def test_the_default_page_size_is_300(caller, services, clock):
    hook = create_webhook(caller)
    for number in range(301):
        store_event(services, hook, caller.team_id, at=clock.now() + timedelta(seconds=number), dedupe_key=str(number))
    listed = events(caller)
    assert len(listed["events"]) == 300 and listed["total"] == 301


def test_an_events_attempts_are_listed_in_order_and_another_teams_event_is_a_404(caller, other_caller, services, clock):
    hook = create_webhook(caller)
    event_id = store_event(services, hook, caller.team_id, at=clock.now(), status="delivered", attempts_count=2)
    store_attempt(
        services,
        event_id,
        hook["id"],
        caller.team_id,
        2,
        clock.now() + timedelta(seconds=10),
        success=True,
        response_status_code=200,
        error_message=None,
    )
    store_attempt(services, event_id, hook["id"], caller.team_id, 1, clock.now())
    reply = call("list_workflow_webhook_event_attempts", caller=caller, path={"event_id": event_id})
    assert reply.status == 200 and reply.body["total"] == 2
    first, second = reply.body["attempts"]
    assert (first["attempt_number"], first["success"], first["response_status_code"]) == (1, False, 500)
    assert (second["attempt_number"], second["success"], second["response_status_code"]) == (2, True, 200)
    assert {
        "event_id",
        "subscription_id",
        "action",
        "request_url",
        "response_body",
        "error_message",
        "latency_ms",
        "created_at",
    } <= set(first)
    foreign = call("list_workflow_webhook_event_attempts", caller=other_caller, path={"event_id": event_id})
    assert foreign.status == 404
    assert events(other_caller)["total"] == 0


@pytest.mark.parametrize("status", ["failed", "delivered", "retrying"])
def test_a_manual_retry_resets_the_event_keeping_its_attempt_count_and_sends_it(
    caller, services, clock, delivery_queue, status
):
    # Given an event that has been attempted twice
    hook = create_webhook(caller)
    event_id = store_event(
        services,
        hook,
        caller.team_id,
        at=clock.now(),
        status=status,
        attempts_count=2,
        next_retry_at=clock.now() + timedelta(minutes=5),
        claimed_until=clock.now() + timedelta(minutes=1),
    )
    clock.advance(minutes=1)
    # When it is retried
    reply = call("retry_workflow_webhook_event", caller=caller, path={"event_id": event_id}, body={})
    # Then it is pending and due now, with no lease, and its attempt count is kept
    assert reply.status == 200 and reply.body == {
        "message": "Webhook event queued for redelivery",
        "event_id": event_id,
    }
    stored = stored_event(services, event_id)
    assert (stored["status"], stored["attempts_count"], stored["next_retry_at"], stored["claimed_until"]) == (
        "pending",
        2,
        None,
        None,
    )
    assert stored["updated_by"] == "alice"
    # And an attempt was asked of the delivery queue, at once
    assert delivery_queue.sent == [(event_id, 0)]


def test_a_manual_retry_during_an_attempt_in_flight_leaves_that_attempt_its_lease(
    caller, services, clock, delivery_queue
):
    # Given a retrying event whose next attempt a deliverer holds (its POST is in flight)
    hook = create_webhook(caller)
    in_flight_until = clock.now() + timedelta(minutes=2)
    event_id = store_event(
        services,
        hook,
        caller.team_id,
        at=clock.now(),
        status="retrying",
        attempts_count=1,
        claimed_until=in_flight_until,
    )
    # When it is retried by hand
    reply = call("retry_workflow_webhook_event", caller=caller, path={"event_id": event_id}, body={})
    # Then the answer is the usual one, and the event keeps the deliverer's lease: no second deliverer can
    # take the same attempt while the first one's POST is in flight
    assert reply.status == 200
    stored = stored_event(services, event_id)
    assert (stored["status"], stored["attempts_count"]) == ("retrying", 1)
    assert stored["claimed_until"].replace(tzinfo=in_flight_until.tzinfo) == in_flight_until
    assert services.webhooks.events.begin_attempt(event_id, now=clock.now(), lease_until=in_flight_until) is None
    assert delivery_queue.sent == [(event_id, 0)]


def test_retrying_a_pending_event_only_sends_it_again(caller, services, clock, delivery_queue):
    hook = create_webhook(caller)
    event_id = store_event(services, hook, caller.team_id, at=clock.now())
    before = stored_event(services, event_id)
    reply = call("retry_workflow_webhook_event", caller=caller, path={"event_id": event_id})
    assert reply.status == 200 and delivery_queue.sent == [(event_id, 0)]
    assert stored_event(services, event_id) == before


def test_retry_of_another_teams_or_an_unknown_event_is_a_404_and_sends_nothing(
    caller, other_caller, services, clock, delivery_queue
):
    hook = create_webhook(caller)
    event_id = store_event(services, hook, caller.team_id, at=clock.now(), status="failed", attempts_count=1)
    foreign = call("retry_workflow_webhook_event", caller=other_caller, path={"event_id": event_id})
    unknown = call("retry_workflow_webhook_event", caller=caller, path={"event_id": "65f1a2b3c4d5e6f708192a3b"})
    assert foreign.status == unknown.status == 404
    assert stored_event(services, event_id)["status"] == "failed" and delivery_queue.sent == []


def test_an_event_of_a_deleted_subscription_is_not_retried(caller, services, clock, delivery_queue):
    hook = create_webhook(caller)
    event_id = store_event(services, hook, caller.team_id, at=clock.now(), status="failed", attempts_count=1)
    assert call("delete_workflow_webhook", caller=caller, path={"webhook_id": hook["id"]}).status == 200
    reply = call("retry_workflow_webhook_event", caller=caller, path={"event_id": event_id})
    assert reply.status == 409 and "deleted" in reply.body["detail"]
    assert stored_event(services, event_id)["status"] == "failed" and delivery_queue.sent == []


def test_an_event_of_a_disabled_subscription_is_not_retried_until_it_is_enabled(
    caller, services, clock, delivery_queue
):
    # Given a failed event of a subscription since disabled
    hook = create_webhook(caller)
    event_id = store_event(services, hook, caller.team_id, at=clock.now(), status="failed", attempts_count=1)
    disable = {"webhook_id": hook["id"]}
    assert call("update_workflow_webhook", caller=caller, path=disable, body={"enabled": False}).status == 200

    # When it is retried, then the answer is a 409 that says so, and nothing is reset or sent
    reply = call("retry_workflow_webhook_event", caller=caller, path={"event_id": event_id})
    assert reply.status == 409 and "disabled" in reply.body["detail"]
    assert stored_event(services, event_id)["status"] == "failed" and delivery_queue.sent == []

    # When the subscription is enabled again, then the retry queues it
    assert call("update_workflow_webhook", caller=caller, path=disable, body={"enabled": True}).status == 200
    assert call("retry_workflow_webhook_event", caller=caller, path={"event_id": event_id}).status == 200
    assert delivery_queue.sent == [(event_id, 0)]
