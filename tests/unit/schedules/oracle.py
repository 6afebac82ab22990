"""Independent oracles for the cron tests: an interpreter for the documented subset of EventBridge cron
syntax, and cron(5) day matching. Written without reusing the module under test."""

from __future__ import annotations

from datetime import date, timedelta

from workflow_service.schedules.cron import CronSchedule

_EVENTBRIDGE_FIELDS = [
    # name, low, high, slash allowed, "?" allowed
    ("minutes", 0, 59, True, False),
    ("hours", 0, 23, True, False),
    ("days_of_month", 1, 31, True, True),
    ("months", 1, 12, True, False),
    ("days_of_week", 1, 7, False, True),
]


def parse_eventbridge(expression: str) -> dict[str, frozenset[int] | None]:
    """Evaluate the documented subset of EventBridge cron syntax; fail on anything outside it."""
    assert expression.startswith("cron(") and expression.endswith(")"), expression
    fields = expression[5:-1].split(" ")
    assert len(fields) == 6 and fields[5] == "*", expression
    assert (fields[2] == "?") != (fields[4] == "?"), f"exactly one day field must be '?': {expression}"
    parsed: dict[str, frozenset[int] | None] = {}
    for (name, low, high, slash_allowed, question_allowed), text in zip(_EVENTBRIDGE_FIELDS, fields[:5], strict=True):
        if text == "?":
            assert question_allowed, expression
            parsed[name] = None
            continue
        values: set[int] = set()
        for item in text.split(","):
            if item == "*":
                values.update(range(low, high + 1))
            elif "/" in item:
                assert slash_allowed, f"'/' is not allowed in {name}: {expression}"
                start, step = (int(part) for part in item.split("/"))
                assert low <= start <= high and step >= 1, expression
                values.update(range(start, high + 1, step))
            elif "-" in item:
                first, last = (int(part) for part in item.split("-"))
                assert low <= first < last <= high, expression
                values.update(range(first, last + 1))
            else:
                assert item.isdigit() and low <= int(item) <= high, expression
                values.add(int(item))
        parsed[name] = frozenset(values)
    return parsed


def eventbridge_days(fields: dict[str, frozenset[int] | None], year: int) -> set[date]:
    days = set()
    for offset in range(366 if year % 4 == 0 else 365):
        day = date(year, 1, 1) + timedelta(days=offset)
        if day.month not in fields["months"]:
            continue
        if fields["days_of_month"] is None:
            if day.isoweekday() % 7 + 1 in fields["days_of_week"]:  # EventBridge: 1 = SUN
                days.add(day)
        elif day.day in fields["days_of_month"]:
            days.add(day)
    return days


def posix_days(schedule: CronSchedule, year: int) -> set[date]:
    days = set()
    for offset in range(366 if year % 4 == 0 else 365):
        day = date(year, 1, 1) + timedelta(days=offset)
        if day.month not in schedule.months:
            continue
        by_month_day = day.day in schedule.days_of_month
        by_weekday = day.isoweekday() % 7 in schedule.days_of_week  # POSIX: 0 = Sunday
        both_restricted = schedule.day_of_month_restricted and schedule.day_of_week_restricted
        if (by_month_day or by_weekday) if both_restricted else (by_month_day and by_weekday):
            days.add(day)
    return days
