"""Property: whatever valid expression a user writes, the EventBridge translation fires on exactly the
same minutes, hours and days, in EventBridge's documented syntax, or is refused as unrepresentable."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.schedules.oracle import eventbridge_days, parse_eventbridge, posix_days
from workflow_service.schedules.cron import CronError, next_fire_times, parse_cron, to_eventbridge

# (low, high literal, top of "*", names)
_FIELDS = {
    "minute": (0, 59, 59, []),
    "hour": (0, 23, 23, []),
    "day_of_month": (1, 31, 31, []),
    "month": (1, 12, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
    "day_of_week": (0, 7, 6, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
}


@st.composite
def field_terms(draw: st.DrawFn, field: str) -> str:
    low, high, top, names = _FIELDS[field]

    def value() -> st.SearchStrategy[str]:
        numbers = st.integers(low, high).map(str)
        return st.one_of(numbers, st.sampled_from(names)) if names else numbers

    def as_number(text: str) -> int:
        return names.index(text) + low if text in names else int(text)

    step = st.integers(1, top - low).map(str)
    kind = draw(st.sampled_from(["value", "range", "star_step", "range_step", "open_step"]))
    if kind == "value":
        return draw(value())
    if kind == "star_step":
        return f"*/{draw(step)}"
    if kind == "open_step":
        return f"{draw(st.integers(low, top))}/{draw(step)}"
    first, last = sorted([draw(value()), draw(value())], key=as_number)
    term = f"{first}-{last}"
    return f"{term}/{draw(step)}" if kind == "range_step" else term


def field_text(field: str) -> st.SearchStrategy[str]:
    listed = st.lists(field_terms(field), min_size=1, max_size=3).map(",".join)
    return st.one_of(st.just("*"), listed)


@settings(max_examples=300, deadline=None)
@given(
    minute=field_text("minute"),
    hour=field_text("hour"),
    day_of_month=field_text("day_of_month"),
    month=field_text("month"),
    day_of_week=field_text("day_of_week"),
)
def test_translation_is_exact_or_refused(
    minute: str, hour: str, day_of_month: str, month: str, day_of_week: str
) -> None:
    try:
        schedule = parse_cron(f"{minute} {hour} {day_of_month} {month} {day_of_week}")
    except CronError as never_fires:
        # Refused at parse only when its days of the month exist in none of its months (``0 0 30 FEB *``):
        # with a day of the week given too, POSIX fires on either, so such an expression does fire.
        assert never_fires.field == "day_of_month" and "never fires" in str(never_fires)
        assert month != "*" and day_of_week.startswith("*")
        return

    try:
        translated = to_eventbridge(schedule)
    except CronError as refused:
        # Refused only when both day fields really narrow the days.
        assert refused.field == "expression"
        assert schedule.days_of_month != frozenset(range(1, 32))
        assert schedule.days_of_week != frozenset(range(7))
        return

    fields = parse_eventbridge(translated)
    assert fields["minutes"] == schedule.minutes
    assert fields["hours"] == schedule.hours
    assert fields["months"] == schedule.months
    for year in (2026, 2028):
        assert eventbridge_days(fields, year) == posix_days(schedule, year)


@functools.cache
def _clock_changes_2026(zone: str) -> list[datetime]:
    """The UTC instants in 2026 at which the zone's UTC offset changes."""
    local = ZoneInfo(zone)
    changes = []
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    while instant.year == 2026:
        following = instant + timedelta(minutes=15)
        if instant.astimezone(local).utcoffset() != following.astimezone(local).utcoffset():
            changes.append(following)
        instant = following
    return changes


quarter_hours = st.sets(st.sampled_from([0, 15, 30, 45]), min_size=1).map(lambda mins: ",".join(map(str, sorted(mins))))


@settings(max_examples=100, deadline=None)
@given(
    minute=quarter_hours,
    hour=field_text("hour"),
    zone=st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"]),
    transition=st.integers(0, 1),
    lead=st.integers(0, 36 * 60 * 60),
)
def test_fire_times_are_the_first_occurrence_of_every_matching_wall_time(
    minute: str, hour: str, zone: str, transition: int, lead: int
) -> None:
    # Start up to 36 hours before one of the zone's 2026 clock changes (or a fixed day for Kolkata).
    changes = _clock_changes_2026(zone) or [datetime(2026, 6, 1, tzinfo=UTC)]
    start = changes[transition % len(changes)] - timedelta(seconds=lead)
    schedule = parse_cron(f"{minute} {hour} * * *", zone)

    fires = next_fire_times(schedule, start, 20)
    assert len(fires) == 20  # a daily schedule always has 20 more firings

    # Oracle: walk UTC in quarter hours (every offset here is a multiple of 15 minutes) and keep the
    # instants whose local wall time matches and has not been shown before (DST overlaps here last
    # 30 or 60 minutes). Wall times inside a gap are never shown, so they are never kept.
    local = ZoneInfo(zone)
    expected = []
    instant = start.replace(second=0, microsecond=0) - timedelta(minutes=start.minute % 15)
    while len(expected) < len(fires):
        instant += timedelta(minutes=15)
        wall = instant.astimezone(local).replace(tzinfo=None)
        repeated = any(
            (instant - timedelta(minutes=back)).astimezone(local).replace(tzinfo=None) == wall for back in (30, 60)
        )
        if instant > start and wall.hour in schedule.hours and wall.minute in schedule.minutes and not repeated:
            expected.append(instant)
    assert fires == expected
