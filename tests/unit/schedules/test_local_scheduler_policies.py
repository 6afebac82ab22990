"""The local EventBridge Scheduler honours issue 14's flexible window and StartDate / EndDate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tests.fakes.clock import ManualClock
from tests.support.schedule_definitions import recurring
from workflow_service.adapters.local.scheduler import InMemoryScheduler

NOON = datetime(2030, 3, 9, 12, 0, tzinfo=UTC)


def test_a_flexible_window_delays_each_delivery_within_the_window_keeping_the_scheduled_time():
    clock = ManualClock(NOON)
    scheduler = InMemoryScheduler("local-group", clock, jitter=random.Random(7))
    scheduler.create(recurring("0 * * * *")._replace(flexible_window_minutes=10))
    due = datetime(2030, 3, 9, 13, 0, tzinfo=UTC)
    delivered_at = None
    for second in range(0, 10 * 60 + 1, 5):
        now = due + timedelta(seconds=second)
        if firings := scheduler.take_due(now):
            delivered_at = now
            assert [f.scheduled_time for f in firings] == [due]
            break
    # Then it came late, but within the window, and the next one is the next hour's
    assert delivered_at is not None and due < delivered_at <= due + timedelta(minutes=10)
    assert scheduler.next_due("cron-1") == due + timedelta(hours=1)


def test_no_window_delivers_on_time():
    scheduler = InMemoryScheduler("local-group", ManualClock(NOON))
    scheduler.create(recurring("0 * * * *"))
    assert len(scheduler.take_due(datetime(2030, 3, 9, 13, 0, tzinfo=UTC))) == 1


def test_start_and_end_bound_the_firings():
    scheduler = InMemoryScheduler("local-group", ManualClock(NOON))
    start, end = datetime(2030, 3, 9, 15, 0, tzinfo=UTC), datetime(2030, 3, 9, 16, 30, tzinfo=UTC)
    scheduler.create(recurring("0 * * * *")._replace(start_at=start, end_at=end))
    # The first firing is at StartDate (inclusive), not at 13:00
    assert scheduler.next_due("cron-1") == start
    assert [f.scheduled_time for f in scheduler.take_due(start)] == [start]
    assert scheduler.next_due("cron-1") == datetime(2030, 3, 9, 16, 0, tzinfo=UTC)
    scheduler.take_due(datetime(2030, 3, 9, 16, 0, tzinfo=UTC))
    # After the 16:00 firing nothing is left before EndDate
    assert scheduler.next_due("cron-1") is None
    assert scheduler.take_due(datetime(2030, 3, 10, 0, 0, tzinfo=UTC)) == []
