"""POSIX 5-field cron expressions for recurring schedules.

Three jobs, all pure (stdlib + zoneinfo):

* ``parse_cron`` validates ``minute hour day-of-month month day-of-week`` and an IANA time zone, and
  explains precisely what is wrong (``CronError.field`` names the offending field).
* ``to_eventbridge`` translates a parsed schedule to the EventBridge Scheduler ``cron(...)``
  expression that fires at exactly the same wall-clock times, or refuses when no single
  EventBridge expression can (the expression is never silently changed).
* ``next_fire_times`` predicts the firings the way EventBridge Scheduler produces them: wall-clock
  times are evaluated in the schedule's time zone, a time inside a spring-forward gap is skipped,
  and a time repeated by a fall-back overlap fires once, at its first occurrence.

Day fields follow cron(5): a day field is *restricted* unless its text starts with ``*``. When both
are restricted a day matches if EITHER matches; otherwise both must match (an unrestricted ``*``
matches every day, so this reduces to "the restricted one").
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from datetime import MAXYEAR, UTC, date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CronError",
    "CronSchedule",
    "matching_days",
    "next_fire_time",
    "next_fire_times",
    "parse_cron",
    "to_eventbridge",
    "zone_of",
]

# How long next_fire_times keeps looking past the last matching day before concluding there is no
# further one. The rarest real schedule (29 February) recurs within 8 years; the scan visits only
# the months in the schedule, so a generous bound stays cheap and an expression that can never fire
# ("0 0 31 2 *") still returns [] after a few dozen iterations.
_SEARCH_HORIZON_YEARS = 50

# Files shipped in the zoneinfo database that are not time zones a user can mean.
_NOT_IANA_ZONES = frozenset({"localtime", "posixrules", "Factory"})

_MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

# Shortcuts some crons accept; naming the equivalent fields makes the rejection actionable.
_MACRO_EQUIVALENTS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_FIELD_ORDER = "minute hour day-of-month month day-of-week"


class CronError(ValueError):
    """An invalid or untranslatable cron expression or time zone.

    ``field`` is one of "minute", "hour", "day_of_month", "month", "day_of_week", "expression"
    (the expression as a whole) or "timezone"; ``message`` says what is wrong and why.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _FieldSpec(NamedTuple):
    key: str  # CronError.field
    label: str  # how messages name the field
    low: int
    high: int  # highest literal accepted (7 in day-of-week: a second spelling of Sunday)
    top: int  # where "*" and "a/n" stop (6 in day-of-week)
    names: Mapping[str, int]


_MINUTE = _FieldSpec("minute", "minute", 0, 59, 59, {})
_HOUR = _FieldSpec("hour", "hour", 0, 23, 23, {})
_DAY_OF_MONTH = _FieldSpec("day_of_month", "day-of-month", 1, 31, 31, {})
_MONTH = _FieldSpec("month", "month", 1, 12, 12, _MONTH_NAMES)
_DAY_OF_WEEK = _FieldSpec("day_of_week", "day-of-week", 0, 7, 6, _DAY_NAMES)
_SPECS = (_MINUTE, _HOUR, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK)

_ALL_DAYS_OF_MONTH = frozenset(range(1, 32))
_ALL_DAYS_OF_WEEK = frozenset(range(0, 7))

# Day-of-week as EventBridge numbers it (1 = SUN .. 7 = SAT); it accepts no "/" increments there.
_EVENTBRIDGE_DAY_OF_WEEK = _FieldSpec("day_of_week", "day-of-week", 1, 7, 7, {})

# What a too-large step would have to span; named in the rejection so users see why "*/90" fails.
_STEP_PERIOD = {"minute": "hour", "hour": "day", "day_of_month": "month", "month": "year", "day_of_week": "week"}


class CronSchedule(NamedTuple):
    """A validated cron expression and its time zone; build it with ``parse_cron``.

    ``expression`` is the normalized text (single spaces, names upper-cased). The sets hold every
    value each field matches; ``days_of_week`` uses POSIX numbering (0 = Sunday .. 6 = Saturday;
    a 7 in the text is stored as 0). A day field is restricted unless its text starts with ``*``.
    """

    expression: str
    timezone: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    day_of_month_restricted: bool
    day_of_week_restricted: bool


def parse_cron(expression: str, timezone: str = "UTC") -> CronSchedule:
    """Validate a 5-field POSIX cron expression and an IANA time zone name.

    Accepts ``*``, numbers, ranges ``a-b``, steps ``*/n``, ``a-b/n`` and ``a/n`` (from ``a`` to the
    end of the field), comma lists, JAN-DEC and SUN-SAT (any case), and 7 as Sunday. Raises
    ``CronError`` naming the field for anything else, including the Quartz/EventBridge extensions
    (L, W, #, ?) and ``@daily``-style macros, which the 5-field format does not have.
    """
    if not isinstance(expression, str):
        raise CronError("expression", "the cron expression must be a string")
    fields = expression.split()
    if not fields:
        raise CronError("expression", f"the cron expression is empty; expected 5 fields ({_FIELD_ORDER})")
    if fields[0].startswith("@"):
        raise CronError("expression", _macro_message(fields[0]))
    if fields[0].lower().startswith("cron(") or fields[0].lower().startswith("rate("):
        raise CronError(
            "expression",
            f"expected a 5-field POSIX cron expression ({_FIELD_ORDER}), not an EventBridge "
            "cron(...)/rate(...) expression",
        )
    if len(fields) != 5:
        raise CronError("expression", _field_count_message(len(fields)))

    normalized = [text.upper() for text in fields]
    minutes, hours, days_of_month, months, days_of_week = (
        _parse_field(spec, text) for spec, text in zip(_SPECS, normalized, strict=True)
    )
    zone_name = _validate_timezone(timezone)
    day_of_month_restricted = not normalized[2].startswith("*")
    day_of_week_restricted = not normalized[4].startswith("*")
    if day_of_month_restricted and not day_of_week_restricted:
        _refuse_impossible_dates(days_of_month, months)
    return CronSchedule(
        expression=" ".join(normalized),
        timezone=zone_name,
        minutes=minutes,
        hours=hours,
        days_of_month=days_of_month,
        months=months,
        days_of_week=days_of_week,
        day_of_month_restricted=day_of_month_restricted,
        day_of_week_restricted=day_of_week_restricted,
    )


# The most days each month can have (February: 29, in leap years).
_LONGEST_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _refuse_impossible_dates(days_of_month: frozenset[int], months: frozenset[int]) -> None:
    """An expression whose days of the month exist in none of its months (``* * 31 2 *``, ``0 0 30 2 *``)
    would be accepted by EventBridge and never fire: refuse it, saying why. (With a day-of-week also given,
    POSIX fires on either, so every month has a matching day.)"""
    if any(day <= _LONGEST_MONTH[month] for month in months for day in days_of_month):
        return
    month_names = ", ".join(calendar.month_abbr[month].upper() for month in sorted(months))
    raise CronError(
        "day_of_month",
        f"the expression never fires: no month in its month field ({month_names}) has day "
        f"{', '.join(str(day) for day in sorted(days_of_month))}",
    )


def to_eventbridge(schedule: CronSchedule) -> str:
    """Return the EventBridge Scheduler expression ``cron(min hour dom month dow *)`` for ``schedule``.

    The result matches exactly the same minutes, hours, days and months. EventBridge numbers days
    of the week 1-7 from Sunday and needs ``?`` in exactly one day field, so it can narrow the days
    by one field only. Raises ``CronError`` (field "expression") when the cron expression narrows
    them by both (cron's either-match of two restricted fields, or a ``*/n`` day field that must
    match together with the other), saying why and what to do instead.
    """
    day_of_month, day_of_week = _eventbridge_day_fields(schedule)
    minute = _render_values(schedule.minutes, _MINUTE, allow_increment=True)
    hour = _render_values(schedule.hours, _HOUR, allow_increment=True)
    month = _render_values(schedule.months, _MONTH, allow_increment=True)
    return f"cron({minute} {hour} {day_of_month} {month} {day_of_week} *)"


def next_fire_times(schedule: CronSchedule, after: datetime, count: int) -> list[datetime]:
    """Return up to ``count`` firing instants strictly after ``after``, as aware UTC datetimes.

    Wall-clock times are evaluated in ``schedule.timezone`` the way EventBridge Scheduler does: a
    time that does not exist (spring-forward gap) is skipped, and a time that occurs twice
    (fall-back overlap) fires once, at its first occurrence. Looks at most
    ``_SEARCH_HORIZON_YEARS`` beyond the last matching day, so an expression that never fires
    returns ``[]``.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be a timezone-aware datetime")
    if count < 0:
        raise ValueError("count must not be negative")
    if count == 0:
        return []

    zone = _load_zone(schedule.timezone)
    after_utc = after.astimezone(UTC)
    try:
        start = after_utc.astimezone(zone)
        first_day = start.date()
        # The first-occurrence mapping from wall time to UTC never goes backwards, so no wall time
        # earlier than `start`'s can be after `after`; skipping them keeps "* * * * *" cheap.
        start_wall = (start.hour, start.minute)
    except OverflowError:
        # `after` is so near an end of the calendar that its wall time in this zone is outside it.
        # Near year 9999 nothing later can be represented; near year 1, search from the first day.
        if after_utc.year > 1:
            return []
        first_day, start_wall = date.min, (0, 0)
    hours = sorted(schedule.hours)
    minutes = sorted(schedule.minutes)

    fires: list[datetime] = []
    try:
        for day in _matching_days(schedule, first_day):
            for hour in hours:
                for minute in minutes:
                    if day == first_day and (hour, minute) < start_wall:
                        continue
                    fire = _first_occurrence_utc(day, hour, minute, zone)
                    if fire is None or fire <= after_utc:
                        continue
                    fires.append(fire)
                    if len(fires) == count:
                        return fires
    except OverflowError:
        pass  # the calendar ends in year 9999: no later firing can be represented
    return fires


def next_fire_time(schedule: CronSchedule, after: datetime) -> datetime | None:
    """Return the first firing strictly after ``after`` (aware UTC), or None if it never fires."""
    fires = next_fire_times(schedule, after, 1)
    return fires[0] if fires else None


# --- parsing -------------------------------------------------------------------------------------


def _macro_message(macro: str) -> str:
    equivalent = _MACRO_EQUIVALENTS.get(macro.lower())
    hint = f"; write '{equivalent}' instead" if equivalent else ""
    return f"'{macro}' macros are not supported in the 5-field format ({_FIELD_ORDER}){hint}"


def _field_count_message(count: int) -> str:
    message = f"expected 5 space-separated fields ({_FIELD_ORDER}), got {count}"
    if count in (6, 7):
        message += "; seconds and year fields (6/7-field Quartz or EventBridge formats) are not supported"
    return message


def _validate_timezone(timezone: str) -> str:
    if not isinstance(timezone, str) or not timezone.strip():
        raise CronError("timezone", "the time zone must be an IANA time zone name such as 'America/New_York'")
    _load_zone(timezone)
    return timezone


def _load_zone(name: str) -> ZoneInfo:
    if name in _NOT_IANA_ZONES:
        raise CronError("timezone", f"'{name}' is not an IANA time zone name such as 'America/New_York'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(
            "timezone", f"unknown time zone '{name}'; use an IANA time zone name such as 'America/New_York'"
        ) from None


def _parse_field(spec: _FieldSpec, text: str) -> frozenset[int]:
    values: set[int] = set()
    for term in text.split(","):
        if not term:
            raise CronError(spec.key, f"{spec.label} '{text}' has an empty list item")
        values.update(_parse_term(spec, term))
    if spec is _DAY_OF_WEEK and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values)


def _parse_term(spec: _FieldSpec, term: str) -> range:
    base, slash, step_text = term.partition("/")
    step = _parse_step(spec, term, step_text) if slash else 1

    if base == "*":
        start, stop = spec.low, spec.top
    elif "-" in base:
        first, _, last = base.partition("-")
        start, stop = _parse_value(spec, first), _parse_value(spec, last)
        if start > stop:
            raise CronError(
                spec.key,
                f"{spec.label} range '{base}' runs backwards; write the smaller value first "
                "(ranges do not wrap around)",
            )
    else:
        start = _parse_value(spec, base)
        # "a/n" means from a to the end of the field; a lone 7 in day-of-week is Sunday, i.e. 0.
        if slash and spec is _DAY_OF_WEEK and start == 7:
            start = 0
        stop = max(start, spec.top) if slash else start

    if slash and step > spec.top - spec.low:
        raise CronError(
            spec.key,
            f"{spec.label} step {step} in '{term}' is larger than the field's range "
            f"{spec.low}-{spec.top}, so it would match only {start}; steps restart every "
            f"{_STEP_PERIOD[spec.key]} (write '{start}' if that is what you mean)",
        )
    return range(start, stop + 1, step)


def _parse_step(spec: _FieldSpec, term: str, step_text: str) -> int:
    if not step_text.isascii() or not step_text.isdigit():
        raise CronError(spec.key, f"{spec.label} step in '{term}' must be a whole number after '/'")
    step = int(step_text)
    if step == 0:
        raise CronError(spec.key, f"{spec.label} step in '{term}' is 0; a step must be 1 or more")
    return step


def _parse_value(spec: _FieldSpec, token: str) -> int:
    if token.isascii() and token.isdigit():
        value = int(token)
        if not spec.low <= value <= spec.high:
            raise CronError(spec.key, f"{spec.label} value {value} is out of range {_allowed(spec)}")
        return value
    if token in spec.names:
        return spec.names[token]
    if _is_extension(token):
        raise CronError(
            spec.key,
            f"'{token}' in the {spec.label} field is not supported in the 5-field format "
            "(L, W, # and ? are Quartz/EventBridge extensions)",
        )
    if not token:
        raise CronError(spec.key, f"{spec.label} field has a range or step with a missing value")
    if token.isalpha() and spec.names:
        raise CronError(spec.key, f"unknown {spec.label} name '{token}'; use {_allowed(spec)}")
    raise CronError(spec.key, f"'{token}' is not a valid {spec.label} value; use {_allowed(spec)}")


def _is_extension(token: str) -> bool:
    """True for L, W, LW, 15W, 5L, L-2, 3#2 and ? — extension syntax rather than a typo."""
    if "#" in token or "?" in token:
        return True
    stripped = token.rstrip("LW")
    return stripped != token and (stripped == "" or (stripped.isascii() and stripped.isdigit()))


def _allowed(spec: _FieldSpec) -> str:
    if spec is _MONTH:
        return "1-12 or JAN-DEC"
    if spec is _DAY_OF_WEEK:
        return "0-7 (0 and 7 are Sunday) or SUN-SAT"
    return f"{spec.low}-{spec.high}"


# --- EventBridge translation ---------------------------------------------------------------------


def _eventbridge_day_fields(schedule: CronSchedule) -> tuple[str, str]:
    """Return EventBridge (day-of-month, day-of-week), exactly one of them "?"."""
    every_day_of_month = schedule.days_of_month >= _ALL_DAYS_OF_MONTH
    every_day_of_week = schedule.days_of_week >= _ALL_DAYS_OF_WEEK
    dom_text, dow_text = schedule.expression.split()[2], schedule.expression.split()[4]

    if schedule.day_of_month_restricted and schedule.day_of_week_restricted:
        # Either-match: a field covering every day makes every day match.
        if every_day_of_month or every_day_of_week:
            return "*", "?"
        minute, hour, _, month, _ = schedule.expression.split()
        raise CronError(
            "expression",
            f"day-of-month '{dom_text}' and day-of-week '{dow_text}' are both restricted, so cron "
            "runs on days matching EITHER of them; an EventBridge cron expression can restrict only "
            "one of the two (the other must be '?'), so it cannot express this. Create two schedules "
            f"instead: '{minute} {hour} {dom_text} {month} *' and '{minute} {hour} * {month} {dow_text}' "
            "(a day matching both would then run twice).",
        )

    # Both-must-match; an unrestricted "*" matches every day, leaving the other field in charge.
    if every_day_of_week:
        return _render_values(schedule.days_of_month, _DAY_OF_MONTH, allow_increment=True), "?"
    if every_day_of_month:
        return "?", _render_day_of_week(schedule.days_of_week)
    starred = "day-of-month" if not schedule.day_of_month_restricted else "day-of-week"
    raise CronError(
        "expression",
        f"{starred} starts with '*', so cron runs only on days matching BOTH day-of-month "
        f"'{dom_text}' and day-of-week '{dow_text}'; an EventBridge cron expression can restrict only "
        "one of the two (the other must be '?'), so it cannot express this. Use '*' in one of the "
        "two day fields.",
    )


def _render_day_of_week(days: frozenset[int]) -> str:
    # EventBridge counts 1 (SUN) .. 7 (SAT); POSIX counts 0 (Sunday) .. 6.
    return _render_values(frozenset(day + 1 for day in days), _EVENTBRIDGE_DAY_OF_WEEK, allow_increment=False)


def _render_values(values: frozenset[int], spec: _FieldSpec, *, allow_increment: bool) -> str:
    """Render a value set compactly using only EventBridge-documented syntax.

    ``*`` for the whole field, ``a/n`` for an increment running to the end of the field (3+
    values), otherwise a comma list of ranges (3+ consecutive values) and single values.
    """
    ordered = sorted(values)
    if ordered == list(range(spec.low, spec.top + 1)):
        return "*"
    if allow_increment and len(ordered) >= 3:
        step = ordered[1] - ordered[0]
        if step >= 2 and ordered == list(range(ordered[0], spec.top + 1, step)):
            return f"{ordered[0]}/{step}"
    parts: list[str] = []
    run_start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        if previous - run_start >= 2:
            parts.append(f"{run_start}-{previous}")
        else:
            parts.extend(str(item) for item in range(run_start, previous + 1))
        if value is not None:
            run_start = previous = value
    return ",".join(parts)


# --- next fire times -----------------------------------------------------------------------------


def _matching_days(schedule: CronSchedule, first_day: date) -> Iterator[date]:
    """Yield, in order, the days from ``first_day`` on whose month and day fields match."""
    either_matches = schedule.day_of_month_restricted and schedule.day_of_week_restricted
    months = sorted(schedule.months)
    give_up_after_year = first_day.year + _SEARCH_HORIZON_YEARS
    year = first_day.year
    while year <= min(give_up_after_year, MAXYEAR - 1):
        for month in months:
            if (year, month) < (first_day.year, first_day.month):
                continue
            days_in_month = calendar.monthrange(year, month)[1]
            # calendar counts Monday as 0; POSIX counts Sunday as 0.
            first_weekday = (calendar.weekday(year, month, 1) + 1) % 7
            for day in range(1, days_in_month + 1):
                by_month_day = day in schedule.days_of_month
                by_weekday = (first_weekday + day - 1) % 7 in schedule.days_of_week
                matches = (by_month_day or by_weekday) if either_matches else (by_month_day and by_weekday)
                if matches and (year, month, day) >= (first_day.year, first_day.month, first_day.day):
                    give_up_after_year = year + _SEARCH_HORIZON_YEARS
                    yield date(year, month, day)
        year += 1


def _first_occurrence_utc(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime | None:
    """UTC instant of a wall time: None inside a DST gap, the first occurrence inside an overlap."""
    wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone, fold=0)
    instant = wall.astimezone(UTC)
    # A wall time in a gap does not survive the round trip (02:30 comes back as 03:30).
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        return None
    return instant


# Public names for the occurrence calculator (``schedules.occurrences``), which enumerates the same days.
matching_days = _matching_days
zone_of = _load_zone
