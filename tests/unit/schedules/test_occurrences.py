"""The occurrence calculator: what a cron expression fires under each DST policy, and the transition
windows of a zone (tzdata pinned: the zones come from the tzdata package, never the host)."""

from __future__ import annotations

import itertools
import zoneinfo
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import pytest

from workflow_service.models.dst import DstPolicy, DstTag, compensation_name, compensation_of
from workflow_service.schedules.cron import next_fire_times, parse_cron
from workflow_service.schedules.dst import drops_native, plan
from workflow_service.schedules.occurrences import next_occurrences, occurrences_between, transition_windows

NY = "America/New_York"
YEARS = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))


def occurrences(
    cron: str, zone: str, start: datetime, end: datetime, **policy: str
) -> list[tuple[str, str, str | None]]:
    found = occurrences_between(parse_cron(cron, zone), DstPolicy(**policy), start, end)
    return [(o.utc.strftime("%Y-%m-%dT%H:%MZ"), o.local, o.dst.value if o.dst else None) for o in found]


def test_zones_resolve_from_the_pinned_tzdata_package_only():
    assert zoneinfo.TZPATH == ()
    assert version("tzdata") == "2026.6"
    assert zoneinfo.ZoneInfo(NY).utcoffset(datetime(2026, 7, 1)) == timedelta(hours=-4)


def test_spring_forward_shift_moves_a_gap_time_forward_by_the_gap():
    # The example: 30 2 * * * in New York on 2026-03-08 with shift fires 03:30 EDT = 07:30Z
    day = datetime(2026, 3, 8, tzinfo=UTC)
    assert occurrences("30 2 * * *", NY, day, day + timedelta(days=1), spring_forward="shift") == [
        ("2026-03-08T07:30Z", "2026-03-08T03:30:00-04:00", "shifted")
    ]
    assert occurrences("30 2 * * *", NY, day, day + timedelta(days=1)) == []  # skip, the default


@pytest.mark.parametrize(
    ("fall_back", "expected"),
    [
        ("first", [("2026-11-01T05:30Z", "2026-11-01T01:30:00-04:00", "repeated_first")]),
        ("second", [("2026-11-01T06:30Z", "2026-11-01T01:30:00-05:00", "repeated_second")]),
        (
            "both",
            [
                ("2026-11-01T05:30Z", "2026-11-01T01:30:00-04:00", "repeated_first"),
                ("2026-11-01T06:30Z", "2026-11-01T01:30:00-05:00", "repeated_second"),
            ],
        ),
    ],
)
def test_fall_back_picks_the_first_the_second_or_both_instants(fall_back, expected):
    day = datetime(2026, 11, 1, tzinfo=UTC)
    assert occurrences("30 1 * * *", NY, day, day + timedelta(days=1), fall_back=fall_back) == expected


def test_a_shifted_time_that_coincides_with_an_ordinary_one_is_one_occurrence():
    # 02:00 shifted is 03:00 EDT, which the expression names too: one run, the ordinary one
    day = datetime(2026, 3, 8, tzinfo=UTC)
    assert occurrences("0 2,3 * * *", NY, day, day + timedelta(days=1), spring_forward="shift") == [
        ("2026-03-08T07:00Z", "2026-03-08T03:00:00-04:00", None)
    ]


def test_both_fires_every_sub_hourly_time_of_the_repeated_hour_twice():
    start, end = datetime(2026, 11, 1, 4, 59, tzinfo=UTC), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    found = occurrences("*/15 1 * * *", NY, start, end, fall_back="both")
    assert [local for _, local, _ in found] == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:15:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:45:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:15:00-05:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T01:45:00-05:00",
    ]


def test_lord_howe_shifts_and_repeats_by_thirty_minutes():
    zone = "Australia/Lord_Howe"
    gap, overlap = transition_windows(zone, datetime(2026, 9, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC))
    assert (gap.is_gap, gap.length, overlap.is_gap, overlap.length) == (
        True,
        timedelta(minutes=30),
        False,
        timedelta(minutes=30),
    )
    day = gap.at - timedelta(hours=1)
    assert occurrences("15 2 * * *", zone, day, day + timedelta(hours=3), spring_forward="shift") == [
        ("2026-10-03T15:45Z", "2026-10-04T02:45:00+11:00", "shifted")
    ]
    day = overlap.at - timedelta(hours=2)
    assert [tag for _, _, tag in occurrences("45 1 * * *", zone, day, day + timedelta(hours=4), fall_back="both")] == [
        "repeated_first",
        "repeated_second",
    ]


@pytest.mark.parametrize(
    ("zone", "count"),
    [(NY, 10), ("Europe/London", 10), ("Australia/Sydney", 10), ("Australia/Lord_Howe", 10), ("America/Sao_Paulo", 0)],
)
def test_every_zone_has_two_transitions_a_year_except_sao_paulo(zone, count):
    windows = transition_windows(zone, *YEARS)
    assert len(windows) == count
    assert all(a.is_gap != b.is_gap for a, b in itertools.pairwise(windows))  # gap, overlap, gap...
    assert all(window.length == timedelta(minutes=30 if "Lord_Howe" in zone else 60) for window in windows)


def test_sao_paulo_never_shows_a_dst_occurrence():
    # Its clocks changed at midnight until 2019: the hours around midnight, every day for five years
    schedule = parse_cron("0,30 22-23,0-1 * * *", "America/Sao_Paulo")
    found = occurrences_between(schedule, DstPolicy(spring_forward="shift", fall_back="both"), *YEARS)
    assert len(found) == (5 * 365 + 1) * 8  # 2028 is a leap year
    assert {o.dst for o in found} == {None}


@pytest.mark.parametrize("zone", [NY, "Europe/London", "Australia/Sydney", "Australia/Lord_Howe"])
def test_on_every_transition_each_policy_fires_exactly_the_wall_times_it_should(zone):
    schedule = parse_cron("*/10 * * * *", zone)
    for window in transition_windows(zone, *YEARS):
        around = (window.at - timedelta(hours=3), window.at + timedelta(hours=3))
        ordinary = len(occurrences_between(schedule, DstPolicy(), *around))
        length = int(window.length / timedelta(minutes=10))
        for spring in ("skip", "shift"):
            for fall in ("first", "second", "both"):
                found = occurrences_between(schedule, DstPolicy(spring_forward=spring, fall_back=fall), *around)
                utc = [o.utc for o in found]
                assert utc == sorted(set(utc))  # in order, never twice
                tags = [o.dst for o in found]
                if window.is_gap:
                    # A */10 gap time shifted lands on an ordinary time: one occurrence, none tagged
                    assert len(found) == ordinary and DstTag.SHIFTED not in tags
                else:
                    assert len(found) == ordinary + (length if fall == "both" else 0)
                    assert tags.count(DstTag.REPEATED_FIRST) == (0 if fall == "second" else length)
                    assert tags.count(DstTag.REPEATED_SECOND) == (0 if fall == "first" else length)


def test_the_default_policy_is_eventbridges_rule():
    rng = __import__("random").Random(14)
    for _ in range(60):
        cron = f"{rng.choice(['*/7', '0', '30', '15,45'])} {rng.choice(['*', '1', '2', '0-3'])} * * *"
        zone = rng.choice([NY, "Europe/London", "Australia/Sydney", "Australia/Lord_Howe"])
        start = YEARS[0] + timedelta(minutes=rng.randrange(5 * 365 * 24 * 60))
        schedule = parse_cron(cron, zone)
        assert [o.utc for o in next_occurrences(schedule, DstPolicy(), start, 30)] == next_fire_times(
            schedule, start, 30
        )


def test_a_plan_holds_the_policys_instants_inside_windows_only_and_when_to_plan_again():
    now = datetime(2026, 10, 1, tzinfo=UTC)
    planned = plan("30 1 * * *", NY, DstPolicy(fall_back="both"), True, now)
    assert planned.compensations == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)]
    assert planned.planned_until == now + timedelta(days=35)
    # The next window with a 01:30 wall time is not until November 2027 (the spring gap is 02:00-03:00),
    # beyond a year after the horizon: look again in a year
    assert planned.review_at == now + timedelta(days=365)
    assert plan("30 2 * * *", NY, DstPolicy(), True, now).review_at == datetime(2027, 3, 14, 7, tzinfo=UTC) - timedelta(
        days=34
    )
    assert plan("30 1 * * *", NY, DstPolicy(), False, now).compensations == []  # disabled: nothing
    assert plan("0 9 * * *", NY, DstPolicy(), True, now).compensations == []  # no wall time in a window


def test_a_native_delivery_is_dropped_only_inside_a_planned_window_the_schedule_has_wall_times_in():
    until = datetime(2026, 12, 1, tzinfo=UTC)
    first, second = datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert drops_native("30 1 * * *", NY, until, first) and drops_native("30 1 * * *", NY, until, second)
    assert not drops_native("30 1 * * *", NY, None, first)  # never planned: EventBridge decides as before
    assert not drops_native("30 1 * * *", NY, until, datetime(2026, 11, 2, 6, 30, tzinfo=UTC))
    assert not drops_native("0 9 * * *", NY, until, datetime(2026, 11, 1, 6, 0, tzinfo=UTC))


def test_compensation_names_are_deterministic_and_parse_back():
    instant = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    name = compensation_name("65f0a1b2c3d4e5f6a7b8c9d0", instant)
    assert name == "dst-65f0a1b2c3d4e5f6a7b8c9d0-20261101T053000Z" and len(name) <= 64
    assert compensation_of(name) == ("65f0a1b2c3d4e5f6a7b8c9d0", instant)
    assert compensation_of("cron-65f0a1b2c3d4e5f6a7b8c9d0") is None
