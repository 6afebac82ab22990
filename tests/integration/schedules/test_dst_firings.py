"""Actual firings match the preview on every DST transition 2026-2030, whatever instant the emulated
EventBridge picks for a repeated time: native deliveries inside a transition window are dropped and
the policy's instants fire from compensating at() schedules, renewed by the reaper ahead of each
transition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.integration.schedules.conftest import create_workflow
from tests.integration.schedules.dst_driver import (
    AROUND,
    create_recurring,
    fired_times,
    in_interval,
    naive,
    preview_times,
    run_clock_until,
)
from workflow_service.schedules.occurrences import transition_windows
from workflow_service.settings import Settings

ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe", "America/Sao_Paulo"]
POLICIES = [
    {"spring_forward": "skip", "fall_back": "first"},
    {"spring_forward": "shift", "fall_back": "second"},
    {"spring_forward": "skip", "fall_back": "both"},
]
# Wall times inside every window of these zones (01:00 to 02:30, every 30 minutes).
CRON = "*/30 1-2 * * *"
YEARS_START, YEARS_END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["first", "second"])
def settings(request) -> Settings:
    return Settings.from_environ(
        {"WORKFLOWS_LOCAL_RUNTIME": "true", "STAGE": "test", "LOCAL_SCHEDULER_FALL_BACK": request.param}
    )


@pytest.mark.parametrize("zone", ZONES)
def test_firings_match_the_preview_on_every_transition_2026_to_2030(services, caller, clock, zone):
    # Given three schedules (one per policy) created on 1 January 2026
    clock.current = YEARS_START
    schedules = []
    for index, policy in enumerate(POLICIES):
        workflow = create_workflow(caller, name=f"dst {index}")
        schedules.append((create_recurring(caller, workflow["_id"], CRON, zone, policy), policy))
    windows = transition_windows(zone, YEARS_START, YEARS_END)
    assert len(windows) == (0 if zone == "America/Sao_Paulo" else 10)
    dropped = 0
    for window in windows:
        # When the clock reaches two days before the transition, the reaper renews the DST plans,
        # and the emulated EventBridge fires everything due through the night
        clock.current = window.at - timedelta(days=2)
        services.reaper.service.reap()
        start, end = window.at - AROUND, window.at + AROUND
        run_clock_until(services, clock, start)
        outcomes = run_clock_until(services, clock, end)
        dropped += sum(1 for outcome in outcomes if "DST transition window" in (outcome.get("reason") or ""))
        # Then each schedule made exactly one run per occurrence its preview shows, and nothing else
        for schedule, policy in schedules:
            expected = naive(preview_times(caller, CRON, zone, policy, start, end))
            actual = in_interval(fired_times(services, schedule["_id"]), start, end)
            assert actual == expected, (zone, window.at, policy)
        forget_runs(services)
    # And the native deliveries inside the windows were dropped (there are some in every zone with DST)
    assert (dropped > 0) == bool(windows)


def forget_runs(services) -> None:
    """Drop the runs checked so far (mongomock scans whole collections); firing keys live apart, so
    a second delivery of a checked firing would still make no run."""
    services.core.database.raw["workflow_runs"].delete_many({})


WORKED_EXAMPLES = [
    ("30 2 * * *", {"spring_forward": "shift"}, datetime(2026, 3, 8, tzinfo=UTC), ["2026-03-08T07:30:00"]),
    ("30 1 * * *", {"fall_back": "first"}, datetime(2026, 11, 1, tzinfo=UTC), ["2026-11-01T05:30:00"]),
    ("30 1 * * *", {"fall_back": "second"}, datetime(2026, 11, 1, tzinfo=UTC), ["2026-11-01T06:30:00"]),
    (
        "30 1 * * *",
        {"fall_back": "both"},
        datetime(2026, 11, 1, tzinfo=UTC),
        ["2026-11-01T05:30:00", "2026-11-01T06:30:00"],
    ),
]


@pytest.mark.parametrize(("cron", "policy", "day", "expected"), WORKED_EXAMPLES)
def test_the_issues_worked_examples_fire_at_the_documented_instants(
    services, caller, clock, cron, policy, day, expected
):
    # Given the schedule in New York, created 40 days before its DST night
    clock.current = day - timedelta(days=40)
    workflow = create_workflow(caller)
    schedule = create_recurring(caller, workflow["_id"], cron, "America/New_York", policy)
    # When the clock runs through that night (the reaper passing weekly)
    while clock.current < day + timedelta(days=1):
        services.reaper.service.reap()
        run_clock_until(services, clock, min(clock.current + timedelta(days=7), day + timedelta(days=1)))
    # Then it fired on that day exactly at the documented instants, once each
    fired = in_interval(fired_times(services, schedule["_id"]), day, day + timedelta(days=1))
    assert sorted(time.isoformat() for time in fired.elements()) == expected


@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    minutes=st.sets(st.integers(0, 59), min_size=1, max_size=4),
    hours=st.sets(st.integers(0, 4), min_size=1, max_size=3),
    zone=st.sampled_from(ZONES[:4]),
    which=st.integers(0, 9),
    policy=st.fixed_dictionaries(
        {
            "spring_forward": st.sampled_from(["skip", "shift"]),
            "fall_back": st.sampled_from(["first", "second", "both"]),
        }
    ),
)
def test_property_the_local_scheduler_fires_what_the_preview_shows(
    services, caller, clock, minutes, hours, zone, which, policy
):
    # Given a random cron with wall times near the night's transitions, created a day before one
    cron = f"{','.join(map(str, sorted(minutes)))} {','.join(map(str, sorted(hours)))} * * *"
    window = transition_windows(zone, YEARS_START, YEARS_END)[which]
    clock.current = window.at - timedelta(days=1)
    workflow = create_workflow(caller, name=f"property {cron} {zone} {which}")
    schedule = create_recurring(caller, workflow["_id"], cron, zone, policy)
    start, end = window.at - AROUND, window.at + AROUND
    # When the emulated EventBridge fires through the night
    run_clock_until(services, clock, end)
    # Then the runs are exactly the preview's occurrences, one each
    expected = naive(preview_times(caller, cron, zone, policy, start, end))
    assert in_interval(fired_times(services, schedule["_id"]), start, end) == expected
    services.schedules.recurring.delete(caller.team_id, schedule["_id"])
    forget_runs(services)
