"""The local EventBridge Scheduler: when schedules come due, and what the emulation delivers (what it stores
is the port's contract: tests/contract/test_scheduler.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.scheduler_emulation import LocalSchedulerEmulation, target_event
from tests.fakes.clock import ManualClock
from tests.support.schedule_definitions import SCHEDULE_ID, one_time, recurring
from workflow_service.adapters.local.scheduler import InMemoryScheduler
from workflow_service.models.dst import FallBack
from workflow_service.models.schedules import ScheduleKind
from workflow_service.ports import ScheduleDefinition


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2030, 3, 9, 12, 0, tzinfo=UTC))


@pytest.fixture
def scheduler(clock: ManualClock) -> InMemoryScheduler:
    return InMemoryScheduler("local-group", clock)


def test_a_one_time_schedule_fires_once_at_its_time_and_is_deleted(scheduler, clock):
    at = clock.now() + timedelta(seconds=3)
    scheduler.create(one_time(at))
    assert scheduler.take_due(at - timedelta(milliseconds=1)) == []
    [firing] = scheduler.take_due(at)
    assert firing.scheduled_time == at and firing.definition.name == "once-1"
    assert scheduler.get("once-1") is None and scheduler.take_due(at + timedelta(hours=1)) == []


def test_a_cron_schedule_fires_each_matching_minute_and_moves_on(scheduler, clock):
    scheduler.create(recurring("*/5 * * * *"))
    first = datetime(2030, 3, 9, 12, 5, tzinfo=UTC)
    assert scheduler.next_due("cron-1") == first
    assert [f.scheduled_time for f in scheduler.take_due(first)] == [first]
    assert scheduler.next_due("cron-1") == first + timedelta(minutes=5)
    assert scheduler.get("cron-1") is not None


def test_a_cron_time_in_the_spring_gap_is_skipped(scheduler, clock):
    # 02:30 does not exist in New York on 2030-03-10
    scheduler.create(recurring("30 2 * * *", "America/New_York"))
    assert scheduler.next_due("cron-1") == datetime(2030, 3, 11, 6, 30, tzinfo=UTC)


def test_a_disabled_schedule_never_fires_and_resumes_from_now_when_enabled(scheduler, clock):
    scheduler.create(recurring("* * * * *", enabled=False))
    assert scheduler.next_due("cron-1") is None
    assert scheduler.take_due(clock.now() + timedelta(hours=2)) == []
    clock.advance(hours=2)
    scheduler.update(recurring("* * * * *", enabled=True))
    assert scheduler.next_due("cron-1") == datetime(2030, 3, 9, 14, 1, tzinfo=UTC)


def test_a_schedule_that_fell_behind_fires_once_for_its_latest_missed_time(scheduler, clock):
    scheduler.create(recurring("* * * * *"))
    late = datetime(2030, 3, 9, 12, 10, 30, tzinfo=UTC)
    [firing] = scheduler.take_due(late)
    assert firing.scheduled_time == datetime(2030, 3, 9, 12, 10, tzinfo=UTC)
    assert scheduler.next_due("cron-1") == datetime(2030, 3, 9, 12, 11, tzinfo=UTC)


def test_the_delivered_event_is_the_target_input_with_the_scheduled_time_filled_in(scheduler, clock):
    scheduler.create(recurring("0 13 * * *", name="cron-7"))
    [firing] = scheduler.take_due(datetime(2030, 3, 9, 13, 0, 0, 200_000, tzinfo=UTC))
    assert target_event(firing) == {
        "schedule_id": SCHEDULE_ID,
        "kind": "recurring",
        "scheduled_time": "2030-03-09T13:00:00Z",
    }


class RecordingHandler:
    def __init__(self, failures: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.failures = failures

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database unreachable")
        assert context.function_name == "schedule_target"
        return {"outcome": "started"}


def test_the_emulation_delivers_due_firings_to_the_handler(scheduler, clock):
    handler = RecordingHandler()
    emulation = LocalSchedulerEmulation(scheduler, handler, now=clock.now)
    scheduler.create(one_time(clock.now() + timedelta(seconds=3)))
    assert emulation.tick() == 0
    clock.advance(seconds=3)
    assert emulation.tick() == 1
    assert handler.events == [
        {"schedule_id": SCHEDULE_ID, "kind": "one_time", "scheduled_time": "2030-03-09T12:00:03Z"}
    ]
    assert emulation.tick() == 0


def test_a_failed_delivery_is_retried_then_dropped_after_the_retry_policy(scheduler, clock, monkeypatch):
    import local.scheduler_emulation as emulation_module

    monotonic = [1000.0]
    monkeypatch.setattr(emulation_module.time, "monotonic", lambda: monotonic[0])
    handler = RecordingHandler(failures=5)
    emulation = LocalSchedulerEmulation(scheduler, handler, retry_attempts=2, now=clock.now)
    scheduler.create(one_time(clock.now()))
    emulation.tick()  # attempt 1 fails, retry in 1 s
    assert emulation.tick() == 0  # backoff not elapsed
    monotonic[0] += 1
    assert emulation.tick() == 1  # attempt 2 fails, retry in 2 s
    monotonic[0] += 2
    assert emulation.tick() == 1  # attempt 3 fails: the retry policy (2 retries) is exhausted
    monotonic[0] += 100
    assert emulation.tick() == 0
    assert len(handler.events) == 3 and all(event == handler.events[0] for event in handler.events)


@pytest.mark.parametrize(("fall_back", "expected"), [("first", "05:30"), ("second", "06:30")])
def test_the_emulated_native_rule_fires_a_repeated_time_once_at_the_configured_instant(fall_back, expected):
    clock = ManualClock(datetime(2026, 10, 31, 12, tzinfo=UTC))
    local = InMemoryScheduler("local-group", clock, fall_back=FallBack(fall_back))
    local.create(
        ScheduleDefinition(
            "cron-1", "1", ScheduleKind.RECURRING, cron_expression="30 1 * * *", timezone="America/New_York"
        )
    )
    fired = [f.scheduled_time for f in local.take_due(datetime(2026, 11, 1, 7, tzinfo=UTC))]
    assert [time.strftime("%H:%M") for time in fired] == [expected]
    # A spring-gap time is skipped: 02:30 on 8 March 2026 does not exist in New York
    spring = InMemoryScheduler("local-group", ManualClock(datetime(2026, 3, 7, 12, tzinfo=UTC)))
    spring.create(
        ScheduleDefinition(
            "cron-2", "2", ScheduleKind.RECURRING, cron_expression="30 2 * * *", timezone="America/New_York"
        )
    )
    assert spring.next_due("cron-2") == datetime(2026, 3, 9, 6, 30, tzinfo=UTC)


def test_the_emulated_native_rule_cannot_fire_both_instants():
    with pytest.raises(ValueError, match="first' or 'second"):
        InMemoryScheduler("local-group", ManualClock(), fall_back=FallBack.BOTH)
