"""The reaper's repair sweeps of schedules get past candidates whose repair keeps failing.

Owed pushes, tombstones and overdue one-time schedules are read by id, at most ``REAPER_BATCH_SIZE``
x ``REAPER_MAX_BATCHES`` a pass (2 x 2 here). When more candidates than that fail every time (AWS
refusing their push: a ValidationException, an access denied; a firing that cannot be written), a
sweep that started at the first id on every pass would retry those and never reach the rest. Each
sweep resumes where the last pass stopped and starts over once it reached the end, so a healthy
candidate past them is repaired within ceil(candidates / budget) + 1 passes, and a failing one is
retried on the next round (it may have been a throttle).

Real handlers, services and reaper on the in-memory store, the in-memory scheduler as EventBridge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.schedules.crashes import SimulatedCrash, crash_before
from tests.integration.schedules.test_crash_convergence import (
    create_one_time,
    create_recurring,
    held_fire_at,
    held_recurring,
    move,
    one_time_record,
)
from tests.support.api import call
from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.schedules import ScheduleKind, schedule_name
from workflow_service.settings import Settings

BATCH, BATCHES = 2, 2
# More failing candidates than one pass reads, so that a sweep restarting at the first id never gets past them.
FAILING = BATCH * BATCHES + 1
# ceil((FAILING + 1 healthy) / budget) + 1: the bound the resumable sweep promises.
PASSES = -(-(FAILING + 1) // (BATCH * BATCHES)) + 1
PUSH_GRACE_SECONDS = 121


@pytest.fixture
def settings() -> Settings:
    return Settings.from_environ(
        {
            "WORKFLOWS_LOCAL_RUNTIME": "true",
            "STAGE": "test",
            "REAPER_BATCH_SIZE": str(BATCH),
            "REAPER_MAX_BATCHES": str(BATCHES),
        }
    )


def reap(services, clock) -> dict[str, Any]:
    clock.advance(seconds=PUSH_GRACE_SECONDS)  # past the push grace: every owed push is a candidate
    return services.reaper.service.reap()


def passes_until(services, clock, done: Callable[[], bool], limit: int) -> int | None:
    """Run reaper passes until ``done``; the number of passes it took, or None if ``limit`` were not enough."""
    for number in range(1, limit + 1):
        reap(services, clock)
        if done():
            return number
    return None


@contextmanager
def refusing(target: Any, method: str, refused: set[str], key: Callable[[Any], str]) -> Iterator[Counter[str]]:
    """``target.method`` fails for the calls whose ``key`` is in ``refused`` (the others go through);
    yields how many times each refused key was attempted."""
    attempts: Counter[str] = Counter()
    real = getattr(target, method)

    def call_or_refuse(argument: Any, *rest: Any) -> Any:
        if key(argument) in refused:
            attempts[key(argument)] += 1
            raise UpstreamUnavailable("EventBridge Scheduler failed (ValidationException)")
        return real(argument, *rest)

    setattr(target, method, call_or_refuse)
    try:
        yield attempts
    finally:
        delattr(target, method)


def retried_within_a_round(services, clock, attempts: Counter[str], refused: set[str]) -> bool:
    """Every refused candidate is attempted a second time within one more round of the sweep."""
    return passes_until(services, clock, lambda: all(attempts[key] >= 2 for key in refused), PASSES) is not None


def lagging_one_time(services, caller, workflow, clock) -> tuple[str, Any]:
    """A pending one-time schedule moved by a request that died before UpdateSchedule: it owes a push."""
    created = create_one_time(caller, workflow, clock.now() + timedelta(hours=1))
    new_time = clock.now() + timedelta(hours=2)
    with crash_before(services.schedules.scheduler, "update"), pytest.raises(SimulatedCrash):
        move(caller, created["_id"], new_time)
    return created["_id"], new_time


def one_time_name(schedule_id: str) -> str:
    return schedule_name(ScheduleKind.ONE_TIME, schedule_id)


def test_an_owed_push_behind_more_refused_pushes_than_a_pass_reads_is_pushed(services, caller, workflow, clock):
    # Given more lagging schedules than a pass reads whose push AWS refuses every time
    refused = [lagging_one_time(services, caller, workflow, clock) for _ in range(FAILING)]
    # and one lagging schedule past them (the highest id) whose push AWS accepts
    healthy_id, healthy_time = lagging_one_time(services, caller, workflow, clock)
    assert healthy_id > max(schedule_id for schedule_id, _ in refused)
    refused_names = {one_time_name(schedule_id) for schedule_id, _ in refused}
    scheduler = services.schedules.scheduler
    with refusing(scheduler, "update", refused_names, key=lambda definition: definition.name) as attempts:
        # When reaper passes run
        took = passes_until(services, clock, lambda: held_fire_at(services, healthy_id) == healthy_time, PASSES)
        # Then the healthy schedule is pushed within the bound
        assert took is not None, f"not pushed in {PASSES} passes: the sweep keeps retrying the first ones"
        assert not services.schedules.one_time_repository.get(None, healthy_id).needs_push
        # And every refused one is retried on a later round, not given up on
        assert retried_within_a_round(services, clock, attempts, refused_names)
    # And once AWS accepts them again (it was a throttle after all), they all converge
    assert passes_until(services, clock, lambda: _all_held(services, refused), PASSES) is not None


def test_a_pass_over_refused_pushes_costs_at_most_two_writes_of_its_resume_point(services, caller, workflow, clock):
    # Given twice as many refused pushes as a pass reads, after a quiet pass (the day's group listing done)
    reap(services, clock)
    counter = services.core.database.counter
    counter.reset()
    reap(services, clock)
    quiet = dict(counter.calls)
    refused = {
        one_time_name(lagging_one_time(services, caller, workflow, clock)[0]) for _ in range(2 * BATCH * BATCHES)
    }
    with refusing(services.schedules.scheduler, "update", refused, key=lambda definition: definition.name):
        for _ in range(PASSES):
            counter.reset()
            reap(services, clock)
            # Then each pass reads the resume points once, as a quiet one does, and writes the owed-push
            # sweep's at most twice: ahead of its first batch, and where it stopped
            assert counter.calls["reconciler_state.find_one"] == quiet["reconciler_state.find_one"]
            assert 1 <= counter.calls["reconciler_state.update_one"] <= 2
    assert "reconciler_state.update_one" not in quiet


def test_passes_that_all_die_mid_sweep_still_get_past_the_refused_pushes(services, caller, workflow, clock):
    # Given the lagging schedules above: more refused ones than a pass reads, then a healthy one
    refused = [lagging_one_time(services, caller, workflow, clock) for _ in range(FAILING)]
    healthy_id, healthy_time = lagging_one_time(services, caller, workflow, clock)
    refused_names = {one_time_name(schedule_id) for schedule_id, _ in refused}
    # and an invocation that dies (a Lambda timeout) in every pass once it has tried a batch of them,
    # so no pass ever reaches the end of the sweep, where the sweep records where it stopped
    scheduler = services.schedules.scheduler
    real_update = scheduler.update
    tried_this_pass = Counter[str]()

    def update(definition):
        if definition.name not in refused_names:
            return real_update(definition)
        tried_this_pass["refused"] += 1
        if tried_this_pass["refused"] > BATCH:
            raise SimulatedCrash("the invocation timed out")
        raise UpstreamUnavailable("EventBridge Scheduler failed (ValidationException)")

    scheduler.update = update
    died = 0
    try:
        # When reaper passes run, each dying in its second batch
        for _ in range(PASSES):
            tried_this_pass.clear()
            try:
                reap(services, clock)
            except SimulatedCrash:
                died += 1
            if held_fire_at(services, healthy_id) == healthy_time:
                break
    finally:
        del scheduler.update
    # Then each pass still moved the sweep on by the batch it started with, and the healthy one was pushed
    assert held_fire_at(services, healthy_id) == healthy_time
    assert died == PASSES - 1


def _all_held(services, schedules: list[tuple[str, Any]]) -> bool:
    return all(held_fire_at(services, schedule_id) == when for schedule_id, when in schedules)


def test_a_tombstone_behind_more_refused_deletes_than_a_pass_reads_is_applied(services, caller, workflow, clock):
    # Given more recurring schedules deleted by requests that died before DeleteSchedule than a pass
    # reads, whose DeleteSchedule AWS refuses every time (one cron a minute: each expression once a workflow)
    created = [create_recurring(caller, workflow, cron_expression=f"{minute} * * * *") for minute in range(FAILING)]
    healthy = create_recurring(caller, workflow, cron_expression=f"{FAILING} * * * *")
    assert healthy["_id"] > max(item["_id"] for item in created)
    for item in [*created, healthy]:
        with crash_before(services.schedules.scheduler, "delete"), pytest.raises(SimulatedCrash):
            call("delete_recurring_schedule", caller=caller, path={"schedule_id": item["_id"]})
    refused = {schedule_name(ScheduleKind.RECURRING, item["_id"]) for item in created}
    with refusing(services.schedules.scheduler, "delete", refused, key=str) as attempts:
        # When reaper passes run, then the healthy tombstone is applied within the bound
        took = passes_until(services, clock, lambda: held_recurring(services, healthy["_id"]) is None, PASSES)
        assert took is not None, f"not applied in {PASSES} passes: the sweep keeps retrying the first ones"
        assert services.core.database.raw["recurring_schedules"].count_documents({}) == FAILING
        # And the refused ones stay tombstones, retried on the next round
        assert retried_within_a_round(services, clock, attempts, refused)
    assert all(held_recurring(services, item["_id"]) is not None for item in created)


def test_an_overdue_schedule_behind_more_failing_firings_than_a_pass_reads_is_fired(services, caller, workflow, clock):
    # Given more pending one-time schedules than a pass reads whose time passed without a firing (their
    # deliveries were lost) and whose late firing fails every time
    created = [create_one_time(caller, workflow, clock.now() + timedelta(hours=1)) for _ in range(FAILING)]
    # and one more past them (the highest id) that can be fired
    healthy = create_one_time(caller, workflow, clock.now() + timedelta(hours=1))
    assert healthy["_id"] > max(item["_id"] for item in created)
    clock.advance(hours=1)
    refused = {item["_id"] for item in created}
    firing = services.schedules.firing
    with refusing(firing, "fire_overdue_one_time", refused, key=str) as attempts:
        # When reaper passes run, then the healthy one is fired late within the bound
        took = passes_until(
            services, clock, lambda: one_time_record(caller, healthy["_id"])["status"] != "pending", PASSES
        )
        assert took is not None, f"not fired in {PASSES} passes: the sweep keeps retrying the first ones"
        assert one_time_record(caller, healthy["_id"]).get("actual_run_id")
        # And the failing ones stay pending, retried on the next round
        assert retried_within_a_round(services, clock, attempts, refused)
    assert all(one_time_record(caller, item["_id"])["status"] == "pending" for item in created)
