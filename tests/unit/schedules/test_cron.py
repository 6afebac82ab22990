"""Cron validation, EventBridge translation and next fire times (seed 002, DESIGN.md section 4)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from tests.unit.schedules.oracle import eventbridge_days, parse_eventbridge, posix_days
from workflow_service.schedules.cron import (
    CronError,
    CronSchedule,
    next_fire_time,
    next_fire_times,
    parse_cron,
    to_eventbridge,
)

NEW_YORK = "America/New_York"
LONDON = "Europe/London"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def eventbridge(expression: str) -> str:
    return to_eventbridge(parse_cron(expression))


# --- parsing -------------------------------------------------------------------------------------


def test_parse_normalizes_text_and_expands_every_field() -> None:
    schedule = parse_cron("  0,30   9-17/4 1,15 jan-mar   mon-fri ", NEW_YORK)

    assert schedule == CronSchedule(
        expression="0,30 9-17/4 1,15 JAN-MAR MON-FRI",
        timezone=NEW_YORK,
        minutes=frozenset({0, 30}),
        hours=frozenset({9, 13, 17}),
        days_of_month=frozenset({1, 15}),
        months=frozenset({1, 2, 3}),
        days_of_week=frozenset({1, 2, 3, 4, 5}),
        day_of_month_restricted=True,
        day_of_week_restricted=True,
    )


def test_parse_defaults_to_utc_and_marks_star_day_fields_unrestricted() -> None:
    schedule = parse_cron("*/20 * * * *")

    assert schedule.timezone == "UTC"
    assert schedule.minutes == frozenset({0, 20, 40})
    assert schedule.hours == frozenset(range(24))
    assert schedule.days_of_month == frozenset(range(1, 32))
    assert schedule.months == frozenset(range(1, 13))
    assert schedule.days_of_week == frozenset(range(7))
    assert not schedule.day_of_month_restricted
    assert not schedule.day_of_week_restricted


@pytest.mark.parametrize(
    ("day_of_week", "expected"),
    [
        ("7", {0}),
        ("0,7", {0}),
        ("5-7", {5, 6, 0}),
        ("SUN", {0}),
        ("sat", {6}),
        ("*/2", {0, 2, 4, 6}),
        ("1/2", {1, 3, 5}),
        ("MON-FRI/2", {1, 3, 5}),
    ],
)
def test_day_of_week_uses_posix_numbering_with_7_as_sunday(day_of_week: str, expected: set[int]) -> None:
    assert parse_cron(f"0 0 * * {day_of_week}").days_of_week == frozenset(expected)


def test_open_ended_step_runs_to_the_end_of_the_field() -> None:
    assert parse_cron("50/3 * * * *").minutes == frozenset({50, 53, 56, 59})
    assert parse_cron("0 0 20/5 * *").days_of_month == frozenset({20, 25, 30})


@pytest.mark.parametrize(
    ("expression", "field", "reason"),
    [
        ("* * * * * *", "expression", "expected 5 space-separated fields"),
        ("0 0 * * * 2026", "expression", "seconds and year fields"),
        ("* * * *", "expression", "got 4"),
        ("", "expression", "empty"),
        ("cron(0 9 * * ? *)", "expression", "not an EventBridge cron(...)"),
        ("60 * * * *", "minute", "minute value 60 is out of range 0-59"),
        ("* 24 * * *", "hour", "hour value 24 is out of range 0-23"),
        ("* * 0 * *", "day_of_month", "day-of-month value 0 is out of range 1-31"),
        ("* * 32 * *", "day_of_month", "day-of-month value 32 is out of range 1-31"),
        ("* * * 13 *", "month", "month value 13 is out of range 1-12 or JAN-DEC"),
        ("* * * * 8", "day_of_week", "day-of-week value 8 is out of range 0-7"),
        ("5-1 * * * *", "minute", "minute range '5-1' runs backwards"),
        ("0 0 * * FRI-MON", "day_of_week", "runs backwards"),
        ("*/0 * * * *", "minute", "is 0; a step must be 1 or more"),
        ("*/x * * * *", "minute", "must be a whole number"),
        ("*/90 * * * *", "minute", "step 90 in '*/90' is larger than the field's range 0-59"),
        ("* * * * FOO", "day_of_week", "unknown day-of-week name 'FOO'"),
        ("* * * FOO *", "month", "unknown month name 'FOO'"),
        ("* * * MON *", "month", "unknown month name 'MON'"),
        ("MON * * * *", "minute", "'MON' is not a valid minute value"),
        ("1.5 * * * *", "minute", "'1.5' is not a valid minute value"),
        ("1,,2 * * * *", "minute", "empty list item"),
        ("1- * * * *", "minute", "missing value"),
    ],
)
def test_invalid_expression_is_rejected_naming_the_field(expression: str, field: str, reason: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(expression)

    assert raised.value.field == field
    assert reason in str(raised.value)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("expression", "field", "token"),
    [
        ("0 0 L * *", "day_of_month", "L"),
        ("0 0 15W * *", "day_of_month", "15W"),
        ("0 0 LW * *", "day_of_month", "LW"),
        ("0 0 * * 5L", "day_of_week", "5L"),
        ("0 0 * * 1#2", "day_of_week", "1#2"),
        ("0 0 ? * MON", "day_of_month", "?"),
        ("L * * * *", "minute", "L"),
    ],
)
def test_quartz_extensions_are_rejected_as_unsupported(expression: str, field: str, token: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(expression)

    assert raised.value.field == field
    assert f"'{token}'" in str(raised.value)
    assert "not supported in the 5-field format" in str(raised.value)


@pytest.mark.parametrize(
    ("macro", "equivalent"),
    [("@daily", "0 0 * * *"), ("@hourly", "0 * * * *"), ("@weekly", "0 0 * * 0"), ("@reboot", None)],
)
def test_macros_are_rejected_with_the_equivalent_fields(macro: str, equivalent: str | None) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(macro)

    assert raised.value.field == "expression"
    assert "not supported in the 5-field format" in str(raised.value)
    if equivalent:
        assert f"'{equivalent}'" in str(raised.value)


@pytest.mark.parametrize("zone", ["Mars/Base", "", "America/New_York ", "localtime", "../etc/passwd", "America"])
def test_unknown_time_zone_is_rejected(zone: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron("0 9 * * *", zone)

    assert raised.value.field == "timezone"
    assert "IANA time zone" in str(raised.value)


# --- EventBridge translation ---------------------------------------------------------------------

TRANSLATIONS = [
    # Seed 002 "Common Cron Examples"
    ("* * * * *", "cron(* * * * ? *)"),
    ("*/5 * * * *", "cron(0/5 * * * ? *)"),
    ("0 * * * *", "cron(0 * * * ? *)"),
    ("0 9 * * *", "cron(0 9 * * ? *)"),
    ("0 9 * * MON-FRI", "cron(0 9 ? * 2-6 *)"),
    ("0 0 * * *", "cron(0 0 * * ? *)"),
    ("0 0 1 * *", "cron(0 0 1 * ? *)"),
    ("0 0 * * 0", "cron(0 0 ? * 1 *)"),
    # Day-of-week numbering: POSIX 0/7 = Sunday, EventBridge 1 = SUN .. 7 = SAT
    ("0 0 * * 7", "cron(0 0 ? * 1 *)"),
    ("0 0 * * 0,7", "cron(0 0 ? * 1 *)"),
    ("0 8 * * 1-5", "cron(0 8 ? * 2-6 *)"),
    ("0 10 * * 5-6", "cron(0 10 ? * 6,7 *)"),
    ("0 10 * * 5-7", "cron(0 10 ? * 1,6,7 *)"),
    ("0 10 * * SAT,SUN", "cron(0 10 ? * 1,7 *)"),
    ("0 0 * * 1,3,5", "cron(0 0 ? * 2,4,6 *)"),
    ("0 0 * * 1-3,5", "cron(0 0 ? * 2-4,6 *)"),
    ("0 0 * 12 6", "cron(0 0 ? 12 7 *)"),
    # EventBridge has no "/" in day-of-week, so steps there become the exact list
    ("0 12 * * */2", "cron(0 12 ? * 1,3,5,7 *)"),
    ("0 12 * * MON-FRI/2", "cron(0 12 ? * 2,4,6 *)"),
    # A restricted day-of-week that still covers every day leaves day-of-month in charge
    ("0 0 * * 0-6", "cron(0 0 * * ? *)"),
    # Month ends without L: days a month lacks never match, in cron and in EventBridge alike
    ("0 0 28-31 * *", "cron(0 0 28-31 * ? *)"),
    ("59 23 31 12 *", "cron(59 23 31 12 ? *)"),
    # Names and lists
    ("0 0 * JAN,JUL *", "cron(0 0 * 1,7 ? *)"),
    ("0 0 1 jan-mar *", "cron(0 0 1 1-3 ? *)"),
    ("15,45 9-17 * * MON-FRI", "cron(15,45 9-17 ? * 2-6 *)"),
    ("0,1 * * * *", "cron(0,1 * * * ? *)"),
    ("0 0 1,15 * *", "cron(0 0 1,15 * ? *)"),
    ("0 0 1-5,10,20-25 * *", "cron(0 0 1-5,10,20-25 * ? *)"),
    # Ranges and steps
    ("0-10 * * * *", "cron(0-10 * * * ? *)"),
    ("*/15 */6 * * *", "cron(0/15 0/6 * * ? *)"),
    ("5/20 * * * *", "cron(5/20 * * * ? *)"),
    ("10-50/10 * * * *", "cron(10/10 * * * ? *)"),
    ("0-30/10 * * * *", "cron(0,10,20,30 * * * ? *)"),
    ("0 9-17/2 * * *", "cron(0 9,11,13,15,17 * * ? *)"),
    ("0 0 */2 * *", "cron(0 0 1/2 * ? *)"),
    ("0 0 1 */3 *", "cron(0 0 1 1/3 ? *)"),
    ("*/30 * * * *", "cron(0,30 * * * ? *)"),
    ("0-59 0-23 1-31 1-12 *", "cron(* * * * ? *)"),
    # Both day fields restricted, but one of them matches every day: cron's "either" is every day
    ("0 0 1-31 * MON", "cron(0 0 * * ? *)"),
    ("0 0 1 * 0-6", "cron(0 0 * * ? *)"),
]


@pytest.mark.parametrize(("expression", "expected"), TRANSLATIONS)
def test_translates_to_the_exact_eventbridge_expression(expression: str, expected: str) -> None:
    assert eventbridge(expression) == expected


def test_translation_table_is_eventbridge_syntax_with_the_same_values() -> None:
    for expression, _ in TRANSLATIONS:
        schedule = parse_cron(expression)
        fields = parse_eventbridge(to_eventbridge(schedule))

        assert fields["minutes"] == schedule.minutes, expression
        assert fields["hours"] == schedule.hours, expression
        assert fields["months"] == schedule.months, expression
        assert eventbridge_days(fields, 2026) == posix_days(schedule, 2026), expression


def test_both_day_fields_restricted_is_rejected_with_the_reason_and_a_workaround() -> None:
    schedule = parse_cron("0 9 1 * MON", NEW_YORK)

    with pytest.raises(CronError) as raised:
        to_eventbridge(schedule)

    message = str(raised.value)
    assert raised.value.field == "expression"
    assert "day-of-month '1' and day-of-week 'MON' are both restricted" in message
    assert "EITHER" in message
    assert "can restrict only one of the two" in message
    assert "Create two schedules instead: '0 9 1 * *' and '0 9 * * MON'" in message


def test_star_step_day_of_month_with_a_weekday_is_rejected_because_cron_needs_both() -> None:
    # cron(5): "*/2" starts with "*", so it is not "restricted" and the two fields must BOTH match.
    with pytest.raises(CronError) as raised:
        eventbridge("0 0 */2 * MON")

    assert raised.value.field == "expression"
    assert "BOTH day-of-month '*/2' and day-of-week 'MON'" in str(raised.value)
    assert "Use '*' in one of the two day fields" in str(raised.value)


# --- next fire times: plain cases ----------------------------------------------------------------


def test_returns_count_fire_times_strictly_after_the_given_instant() -> None:
    schedule = parse_cron("0 9 * * MON-FRI")

    fires = next_fire_times(schedule, utc(2026, 1, 9, 9, 0), 3)  # a Friday, exactly at a firing

    assert fires == [utc(2026, 1, 12, 9, 0), utc(2026, 1, 13, 9, 0), utc(2026, 1, 14, 9, 0)]
    assert all(fire.tzinfo is UTC for fire in fires)


def test_a_firing_earlier_in_the_same_minute_is_already_past() -> None:
    schedule = parse_cron("0 9 * * *")

    assert next_fire_time(schedule, utc(2026, 1, 9, 9, 0, 30)) == utc(2026, 1, 10, 9, 0)
    assert next_fire_time(schedule, utc(2026, 1, 9, 8, 59, 59)) == utc(2026, 1, 9, 9, 0)


def test_after_may_be_in_any_time_zone() -> None:
    schedule = parse_cron("0 9 * * *", NEW_YORK)
    after = datetime(2026, 1, 9, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 2026-01-08T23:00Z

    assert next_fire_time(schedule, after) == utc(2026, 1, 9, 14, 0)  # 09:00 EST


def test_seed_example_fires_at_nine_new_york_time_on_weekdays() -> None:
    schedule = parse_cron("0 9 * * MON-FRI", NEW_YORK)

    fires = next_fire_times(schedule, utc(2024, 1, 26, 16, 0), 2)  # Friday after 09:00 EST

    assert fires == [utc(2024, 1, 29, 14, 0), utc(2024, 1, 30, 14, 0)]


@pytest.mark.parametrize(
    "expression", ["0 0 31 2 *", "0 0 30 2 *", "* * 31 2 *", "0 0 31 4,6,9,11 *", "0 0 30-31 FEB *"]
)
def test_an_expression_that_can_never_fire_is_refused_saying_why(expression: str) -> None:
    # Given days of the month that none of the expression's months has
    # When it is parsed, Then it is refused naming the day-of-month field (EventBridge would accept it and never fire)
    with pytest.raises(CronError, match="never fires") as refused:
        parse_cron(expression)
    assert refused.value.field == "day_of_month"


@pytest.mark.parametrize("expression", ["0 0 29 2 *", "0 0 31 2,3 *", "0 0 31 2 MON", "0 0 30 2 1-5"])
def test_an_expression_with_at_least_one_real_date_is_accepted(expression: str) -> None:
    # Feb 29 exists in leap years; with a day-of-week too, POSIX fires on either field
    assert next_fire_time(parse_cron(expression), utc(2026, 1, 1)) is not None


def test_leap_day_is_found_across_the_non_leap_year_2100() -> None:
    schedule = parse_cron("0 0 29 2 *")

    assert next_fire_times(schedule, utc(2096, 3, 1), 2) == [utc(2104, 2, 29), utc(2108, 2, 29)]


def test_both_day_fields_restricted_fire_when_either_matches() -> None:
    schedule = parse_cron("0 12 13 * FRI")  # the 13th, and every Friday

    fires = next_fire_times(schedule, utc(2026, 2, 1), 4)

    assert [fire.date() for fire in fires] == [
        date(2026, 2, 6),
        date(2026, 2, 13),
        date(2026, 2, 20),
        date(2026, 2, 27),
    ]
    assert next_fire_time(schedule, utc(2026, 3, 10)) == utc(2026, 3, 13, 12)  # a Friday the 13th, once


def test_count_zero_returns_nothing_and_bad_arguments_are_refused() -> None:
    schedule = parse_cron("* * * * *")

    assert next_fire_times(schedule, utc(2026, 1, 1), 0) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_times(schedule, datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="negative"):
        next_fire_times(schedule, utc(2026, 1, 1), -1)


def test_every_minute_returns_consecutive_minutes() -> None:
    fires = next_fire_times(parse_cron("* * * * *"), utc(2026, 12, 31, 23, 58, 10), 3)

    assert fires == [utc(2026, 12, 31, 23, 59), utc(2027, 1, 1, 0, 0), utc(2027, 1, 1, 0, 1)]


@pytest.mark.parametrize(
    "expression",
    [
        "*/7 * * * *",
        "0 9 * * MON-FRI",
        "30 4 1,15 * *",
        "15 10 * JAN,JUL SUN",
        "0 */3 * * 6,0",
        "5 4 * * 7",
        "0 12 13 * 5",
        "0 0 29 2 *",
        "0-10/5 22-23 28-31 * *",
    ],
)
def test_agrees_with_croniter_in_utc(expression: str) -> None:
    # croniter is right in UTC, where no wall time is skipped or repeated.
    start = utc(2026, 1, 1, 0, 0)
    reference = croniter(expression, start)

    expected = [reference.get_next(datetime) for _ in range(40)]

    assert next_fire_times(parse_cron(expression), start, 40) == expected


# --- next fire times: daylight saving time -------------------------------------------------------


def test_new_york_spring_forward_skips_a_time_in_the_gap() -> None:
    # 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist that day.
    schedule = parse_cron("30 2 * * *", NEW_YORK)

    fires = next_fire_times(schedule, utc(2026, 3, 7), 2)

    assert fires == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 9, 6, 30)]  # 02:30 EST, then 02:30 EDT


def test_new_york_fall_back_fires_a_repeated_time_once_at_its_first_occurrence() -> None:
    # 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens at 05:30Z and again at 06:30Z.
    schedule = parse_cron("30 1 * * *", NEW_YORK)

    fires = next_fire_times(schedule, utc(2026, 10, 31, 12), 3)

    assert fires == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]


def test_new_york_second_pass_of_the_repeated_hour_is_not_a_firing() -> None:
    schedule = parse_cron("30 1 * * *", NEW_YORK)
    during_the_repeat = utc(2026, 11, 1, 6, 10)  # 01:10 EST, after the 01:30 EDT firing

    assert next_fire_time(schedule, during_the_repeat) == utc(2026, 11, 2, 6, 30)


def test_new_york_hourly_fires_once_per_distinct_wall_hour_across_fall_back() -> None:
    schedule = parse_cron("0 * * * *", NEW_YORK)

    fires = next_fire_times(schedule, utc(2026, 11, 1, 3, 30), 4)  # 2026-10-31 23:30 EDT

    # 00:00 EDT, 01:00 EDT, (01:00 EST skipped), 02:00 EST, 03:00 EST
    assert fires == [utc(2026, 11, 1, 4), utc(2026, 11, 1, 5), utc(2026, 11, 1, 7), utc(2026, 11, 1, 8)]
    local_hours = [fire.astimezone(ZoneInfo(NEW_YORK)).hour for fire in fires]
    assert local_hours == [0, 1, 2, 3]


def test_new_york_hourly_skips_the_missing_hour_across_spring_forward() -> None:
    schedule = parse_cron("0 * * * *", NEW_YORK)

    fires = next_fire_times(schedule, utc(2026, 3, 8, 4, 30), 3)  # 2026-03-07 23:30 EST

    # 00:00 EST, 01:00 EST, (02:00 missing), 03:00 EDT: one hour apart in UTC
    assert fires == [utc(2026, 3, 8, 5), utc(2026, 3, 8, 6), utc(2026, 3, 8, 7)]
    assert [fire.astimezone(ZoneInfo(NEW_YORK)).hour for fire in fires] == [0, 1, 3]


def test_london_spring_forward_skips_half_past_one() -> None:
    # 2026-03-29 01:00 GMT jumps to 02:00 BST.
    schedule = parse_cron("30 1 * * *", LONDON)

    fires = next_fire_times(schedule, utc(2026, 3, 28), 2)

    assert fires == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30)]


def test_london_fall_back_fires_half_past_one_once_in_summer_time() -> None:
    # 2026-10-25 02:00 BST falls back to 01:00 GMT: 01:30 happens at 00:30Z and 01:30Z.
    schedule = parse_cron("30 1 * * *", LONDON)

    fires = next_fire_times(schedule, utc(2026, 10, 24, 12), 2)

    assert fires == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_london_quarter_hourly_is_silent_during_the_repeated_hour() -> None:
    schedule = parse_cron("*/15 * * * *", LONDON)

    fires = next_fire_times(schedule, utc(2026, 10, 25, 0, 40), 3)  # 01:40 BST

    # 01:45 BST, then the repeated 01:00-01:45 GMT are skipped, then 02:00 GMT
    assert fires == [utc(2026, 10, 25, 0, 45), utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 15)]


def test_london_hourly_across_both_transitions() -> None:
    schedule = parse_cron("0 * * * *", LONDON)

    spring = next_fire_times(schedule, utc(2026, 3, 28, 23, 30), 3)  # 23:30 GMT
    autumn = next_fire_times(schedule, utc(2026, 10, 24, 22, 30), 4)  # 23:30 BST

    assert spring == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)]  # 00 GMT, 02 BST, 03 BST
    assert autumn == [utc(2026, 10, 24, 23), utc(2026, 10, 25, 0), utc(2026, 10, 25, 2), utc(2026, 10, 25, 3)]


def test_fire_times_in_a_year_match_the_wall_clock_minus_skipped_gap_times() -> None:
    # Every 30 minutes for a year in New York: one firing per distinct existing wall time.
    schedule = parse_cron("*/30 * * * *", NEW_YORK)
    start = utc(2026, 1, 1, 5)  # 2026-01-01 00:00 EST

    fires = next_fire_times(schedule, start - timedelta(seconds=1), 365 * 48)

    zone = ZoneInfo(NEW_YORK)
    walls = [fire.astimezone(zone).replace(tzinfo=None) for fire in fires]
    assert walls == sorted(set(walls))  # strictly increasing wall clock: no repeats
    assert datetime(2026, 3, 8, 2, 0) not in walls and datetime(2026, 3, 8, 2, 30) not in walls
    assert walls.count(datetime(2026, 11, 1, 1, 30)) == 1
    assert walls[-1] == datetime(2026, 12, 31, 23, 30) + timedelta(hours=1)  # 2 skipped, none repeated
