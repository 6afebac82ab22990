"""The emitter over the in-memory ports: the subscription cache, deterministic events, delivery requests,
and the payloads' output cap."""

from __future__ import annotations

from tests.fakes.clock import ManualClock
from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue, InMemoryWebhookEvents, InMemoryWebhookSubscriptions
from workflow_service.models.runs import RunOutput
from workflow_service.models.webhook_payloads import WorkflowRunCompletedPayload
from workflow_service.ports.webhooks import WebhookAction, WebhookSubscription, event_id_for
from workflow_service.webhooks.emission import WebhookEmitter
from workflow_service.webhooks.payloads import EventSubject, capped_output

STARTED = WebhookAction.WORKFLOW_RUN_STARTED


def subscription(sid: str, team: str = "t1", actions=frozenset(WebhookAction), enabled: bool = True):
    return WebhookSubscription(sid, team, sid, "https://example.com", actions, enabled, None, ())


def subject(key: str = "workflow_run_started:r1:started", team: str = "t1") -> EventSubject:
    return EventSubject(team, STARTED, key, "w" * 24, {"action": "workflow_run_started"}, workflow_run_id="r1")


class PerActionReader:
    """A reader offering only the Protocol's per-action read."""

    def __init__(self, inner: InMemoryWebhookSubscriptions) -> None:
        self.inner = inner

    def subscribed(self, team_id, action):
        return self.inner.subscribed(team_id, action)


def make(reader=None, queue=None):
    subscriptions = InMemoryWebhookSubscriptions()
    clock, events = ManualClock(), InMemoryWebhookEvents()
    queue = queue or InMemoryWebhookDeliveryQueue()
    emitter = WebhookEmitter(reader(subscriptions) if reader else subscriptions, events, queue, clock)
    return emitter, subscriptions, events, queue, clock


def test_the_teams_subscriptions_are_read_once_per_30_seconds_for_every_action():
    # Given a team with one subscription to run starts only
    emitter, subscriptions, _, _, clock = make()
    subscriptions.add(subscription("s1", actions=frozenset({STARTED})))
    # When emission asks about two actions, twice, within 30 s
    answers = [emitter.wants("t1", STARTED), emitter.wants("t1", WebhookAction.WORKFLOW_CREATED)]
    answers += [emitter.wants("t1", STARTED)]
    # Then one read answered all of them, per action
    assert answers == [True, False, True] and subscriptions.reads == 1
    # And after 30 s the team is read again: a subscription deleted meanwhile stops counting
    subscriptions.deleted.add("s1")
    clock.advance(seconds=29)
    assert emitter.wants("t1", STARTED) and subscriptions.reads == 1
    clock.advance(seconds=1)
    assert not emitter.wants("t1", STARTED) and subscriptions.reads == 2


def test_a_reader_without_the_team_read_is_asked_per_action_and_cached_too():
    emitter, subscriptions, _, _, _ = make(reader=PerActionReader)
    subscriptions.add(subscription("s1"))
    assert emitter.wants("t1", STARTED) and emitter.wants("t1", STARTED)
    assert emitter.wants("t1", WebhookAction.WORKFLOW_DELETED)
    assert subscriptions.reads == 2


def test_emitting_twice_writes_and_sends_each_subscriptions_event_once():
    # Given two subscribed subscriptions and a disabled one
    emitter, subscriptions, events, queue, _ = make()
    for sub in (subscription("s1"), subscription("s2"), subscription("s3", enabled=False)):
        subscriptions.add(sub)
    # When the same change is emitted twice (a retry, or the reaper after a crash)
    first, second = emitter.emit(subject()), emitter.emit(subject())
    # Then each enabled subscription has one event under its deterministic id, sent once
    expected = {event_id_for(sid, "workflow_run_started:r1:started") for sid in ("s1", "s2")}
    assert set(first) == expected and second == [] and set(events.events) == expected
    assert sorted(queue.drain()) == sorted(expected)
    event = events.get(event_id_for("s1", "workflow_run_started:r1:started"))
    assert event.status == "pending" and event.workflow_run_id == "r1" and event.team_id == "t1"


def test_a_refused_delivery_request_keeps_the_stored_event():
    class DownQueue(InMemoryWebhookDeliveryQueue):
        def send(self, event_id, *, delay_seconds=0):
            raise ConnectionError("queue down")

    emitter, subscriptions, events, _, _ = make(queue=DownQueue())
    subscriptions.add(subscription("s1"))
    # When the queue refuses, emission still succeeds: the due sweep re-sends the pending event
    assert emitter.emit(subject()) == [event_id_for("s1", "workflow_run_started:r1:started")]
    assert len(events.events) == 1


def test_a_team_without_subscriptions_writes_nothing():
    emitter, subscriptions, events, queue, _ = make()
    subscriptions.add(subscription("s1", team="other"))
    assert emitter.emit(subject()) == [] and events.events == {} and queue.sent == []


def test_a_large_run_output_is_cut_to_its_leading_events_and_flagged():
    big = RunOutput(events=[{"type": "say_static", "message": "x" * 1000} for _ in range(40)])
    output, truncated = capped_output(big)
    assert truncated and 0 < len(output.events) < 40 and output.events == big.events[: len(output.events)]
    assert len(output.model_dump_json()) <= 16 * 1024
    small = RunOutput(events=[{"type": "end"}], thread_to_node_outputs={"0": {"a": 1}})
    assert capped_output(small) == (small, False)


def test_the_completed_payload_schema_names_the_truncation_flag():
    schema = WorkflowRunCompletedPayload.model_json_schema()
    assert {"status", "termination_source", "trigger", "output", "output_truncated"} <= set(schema["properties"])
