"""The reaper's webhook step: overdue events re-sent to the delivery queue, one bounded batch per pass."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes.clock import T0
from tests.fakes.concurrency import FixedQueuedTeams, InMemoryLeaseStore, RecordingDispatcher
from tests.fakes.runs import InMemoryRunRepository, RepositoryTerminator
from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue, InMemoryWebhookEvents
from tests.unit.reaper.test_reaper_service import NOW
from tests.unit.webhooks.support import a_subscription, an_event
from workflow_service.reaper.service import StaleRunReaper
from workflow_service.settings.concurrency import ReaperSettings
from workflow_service.webhooks.delivery import DueDeliveries


def reaper_with(sweep, dispatcher=None, queued=None) -> StaleRunReaper:
    runs = InMemoryRunRepository(())
    return StaleRunReaper(
        runs,
        RepositoryTerminator(runs),
        InMemoryLeaseStore(),
        dispatcher or RecordingDispatcher(),
        queued or FixedQueuedTeams(),
        NOW,
        ReaperSettings(batch_size=10, max_batches=10, lease_grace_seconds=60),
        webhook_deliveries=sweep,
    )


def test_overdue_events_are_re_sent_one_bounded_batch_per_pass():
    # Given 15 events written an hour ago whose queue messages were lost
    events, queue = InMemoryWebhookEvents(), InMemoryWebhookDeliveryQueue()
    for number in range(15):
        events.insert_if_absent(an_event(a_subscription(), f"k{number}")._replace(created_at=T0))
    reaper = reaper_with(DueDeliveries(events, queue, NOW, grace_seconds=60))
    # When the reaper passes, the first pass sends one batch and says it is not done
    first = reaper.reap()
    assert (first["webhook_events_redispatched"], first["complete"]) == (10, False)
    assert len(queue.sent) == 10 and all(delay == 0 for _, delay in queue.sent)
    # Then (the sent ones being taken by deliverers meanwhile) the next pass sends the rest
    for event_id in queue.drain():
        events.begin_attempt(event_id, now=NOW.now(), lease_until=NOW.now() + timedelta(seconds=120))
    second = reaper.reap()
    assert (second["webhook_events_redispatched"], second["complete"]) == (5, True)


def test_a_failing_sweep_is_counted_as_an_error_and_the_pass_still_ends_normally():
    class BrokenQueue:
        def send(self, event_id: str, *, delay_seconds: int = 0) -> None:
            raise RuntimeError("queue down")

    events = InMemoryWebhookEvents()
    events.insert_if_absent(an_event(a_subscription())._replace(created_at=T0))
    dispatcher = RecordingDispatcher()
    summary = reaper_with(
        DueDeliveries(events, BrokenQueue(), NOW), dispatcher=dispatcher, queued=FixedQueuedTeams(["team-9"])
    ).reap()
    assert summary["errors"] == 1 and summary["webhook_events_redispatched"] == 0
    assert dispatcher.teams == ["team-9"]
