"""When a recurring schedule fires under its DST policy, and where a zone's transition windows are.

Pure (stdlib + zoneinfo). Wall times the cron expression matches are enumerated day by day and each
is mapped to UTC with zoneinfo's ``fold`` explicitly, never through a cron library's own DST rule:

- an ordinary wall time has one instant;
- a wall time inside a spring-forward gap has none: ``skip`` drops it, ``shift`` fires it the gap's
  length later (``fold=0`` keeps the offset from before the gap, which is exactly that instant);
- a wall time inside a fall-back overlap has two: ``first`` (``fold=0``), ``second`` (``fold=1``) or both.

Occurrences that coincide in UTC (a shifted 02:30 and an ordinary 03:30) are one occurrence; the
ordinary one is kept. EventBridge's own rule is the policy (skip, first) or, as the documentation
leaves open, (skip, second): the local emulations use these to stand in for it.

A transition window is the UTC interval in which the wall clock is not one-to-one: for a gap, the
instants after the change during which the skipped wall times would have fallen (``[T, T+d)``); for
an overlap, both passes over the repeated wall times (``[T-d, T+d)``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from workflow_service.models.dst import DstPolicy, DstTag, FallBack, Occurrence, SpringForward
from workflow_service.schedules.cron import CronSchedule, matching_days, zone_of

__all__ = [
    "TransitionWindow",
    "affected_window",
    "iter_occurrences",
    "next_occurrences",
    "occurrences_between",
    "transition_windows",
]

# Offset changes are at least this far apart in every zone; scanning in these steps finds each one.
_SCAN_STEP = timedelta(hours=6)


class TransitionWindow(NamedTuple):
    """One offset change of a zone: at ``at`` (UTC) the offset goes from ``before`` to ``after``.

    ``start``/``end`` bound the UTC window (see the module docstring); ``wall_start``/``wall_end``
    the naive wall times that are skipped (gap) or repeated (overlap).
    """

    at: datetime
    before: timedelta
    after: timedelta

    @property
    def is_gap(self) -> bool:
        return self.after > self.before

    @property
    def length(self) -> timedelta:
        return abs(self.after - self.before)

    @property
    def start(self) -> datetime:
        return self.at if self.is_gap else self.at - self.length

    @property
    def end(self) -> datetime:
        return self.at + self.length

    @property
    def wall_start(self) -> datetime:
        """First affected wall time (naive): the gap's start, or the first repeated wall time."""
        local_before = (self.at + self.before).replace(tzinfo=None)
        return local_before if self.is_gap else local_before - self.length

    @property
    def wall_end(self) -> datetime:
        return self.wall_start + self.length

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def _offset_at(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def transition_windows(timezone: str, start: datetime, end: datetime) -> list[TransitionWindow]:
    """The offset changes of ``timezone`` with ``start <= at < end`` (aware datetimes), in order."""
    zone = zone_of(timezone)
    found: list[TransitionWindow] = []
    cursor = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    offset = _offset_at(zone, cursor)
    while cursor < stop:
        step_end = min(cursor + _SCAN_STEP, stop)
        next_offset = _offset_at(zone, step_end)
        if next_offset != offset:
            low, high = cursor, step_end  # offset(low) == offset, offset(high) != offset
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset_at(zone, middle) == offset:
                    low = middle
                else:
                    high = middle
            at = high.replace(microsecond=0)
            if start <= at < end:
                found.append(TransitionWindow(at, offset, _offset_at(zone, at)))
        cursor, offset = step_end, next_offset
    return found


class _Candidate(NamedTuple):
    utc: datetime
    local: datetime
    dst: DstTag | None


def _instants(day: date, hour: int, minute: int, zone: ZoneInfo, policy: DstPolicy) -> list[_Candidate]:
    """The instants one wall time fires at under ``policy`` (none, one or two)."""
    naive = datetime.combine(day, time(hour, minute))
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    try:
        first_utc, second_utc = first.astimezone(UTC), second.astimezone(UTC)
        first_utc.astimezone(zone)
    except OverflowError:
        return []  # an instant outside years 1..9999
    if first_utc.astimezone(zone).replace(tzinfo=None) != naive:
        # In a gap: fold=0 keeps the offset from before the gap, i.e. the wall time moved forward by it.
        if policy.spring_forward is SpringForward.SKIP:
            return []
        return [_Candidate(first_utc, first_utc.astimezone(zone), DstTag.SHIFTED)]
    if first_utc == second_utc:
        return [_Candidate(first_utc, first_utc.astimezone(zone), None)]
    chosen: list[_Candidate] = []
    if policy.fall_back in (FallBack.FIRST, FallBack.BOTH):
        chosen.append(_Candidate(first_utc, first_utc.astimezone(zone), DstTag.REPEATED_FIRST))
    if policy.fall_back in (FallBack.SECOND, FallBack.BOTH):
        chosen.append(_Candidate(second_utc, second_utc.astimezone(zone), DstTag.REPEATED_SECOND))
    return chosen


def iter_occurrences(schedule: CronSchedule, policy: DstPolicy, after: datetime) -> Iterator[Occurrence]:
    """Every occurrence strictly after ``after`` (aware), in UTC order, one per instant."""
    zone = zone_of(schedule.timezone)
    after_utc = after.astimezone(UTC)
    try:
        # A day earlier: a wall time of the day before may map (shifted, second) to an instant after ``after``.
        first_day = (after_utc + _offset_at(zone, after_utc)).date() - timedelta(days=1)
    except OverflowError:
        # ``after`` is at an end of the calendar: near year 9999 nothing later can be represented.
        if after_utc.year > 1:
            return
        first_day = date.min
    hours, minutes = sorted(schedule.hours), sorted(schedule.minutes)
    largest: dict[date, timedelta] = {}
    # A heap by instant, an ordinary occurrence before a tagged one at the same instant.
    buffer: list[tuple[datetime, bool, int, _Candidate]] = []
    sequence = 0
    last: datetime | None = None
    try:
        for day in matching_days(schedule, first_day):
            if day not in largest:
                largest[day] = _largest_offset_near(zone, day)
            for hour in hours:
                for minute in minutes:
                    for candidate in _instants(day, hour, minute, zone, policy):
                        if candidate.utc > after_utc:
                            sequence += 1
                            heapq.heappush(buffer, (candidate.utc, candidate.dst is not None, sequence, candidate))
                    # No later wall time maps before this bound, so what is below it is final.
                    try:
                        bound = datetime.combine(day, time(hour, minute), tzinfo=UTC) - largest[day]
                    except OverflowError:
                        continue  # the first hours of year 1: nothing is final yet
                    while buffer and buffer[0][0] < bound:
                        candidate = heapq.heappop(buffer)[-1]
                        if candidate.utc != last:
                            last = candidate.utc
                            yield _occurrence(candidate)
    except OverflowError:
        pass  # the calendar ends in year 9999
    while buffer:
        candidate = heapq.heappop(buffer)[-1]
        if candidate.utc != last:
            last = candidate.utc
            yield _occurrence(candidate)


def _largest_offset_near(zone: ZoneInfo, day: date) -> timedelta:
    """The largest UTC offset the zone has from the day before ``day`` to the day after.

    A later wall time w' maps to w' - offset, so once the enumeration reaches wall time w no later
    wall time can map before w - (this): what is buffered below that is final. Offsets change at
    most once in twelve hours in every zone, so these samples see each offset in force nearby.
    """
    midnight = datetime.combine(day, time(0), tzinfo=UTC)
    offsets = []
    for hours in range(-36, 61, 12):
        try:
            offsets.append(_offset_at(zone, midnight + timedelta(hours=hours)))
        except OverflowError:
            continue  # beyond an end of the calendar
    return max(offsets, default=timedelta(hours=14))


def _occurrence(candidate: _Candidate) -> Occurrence:
    return Occurrence(utc=candidate.utc, local=candidate.local.isoformat(), dst=candidate.dst)


def next_occurrences(schedule: CronSchedule, policy: DstPolicy, after: datetime, count: int) -> list[Occurrence]:
    """The first ``count`` occurrences strictly after ``after``."""
    found: list[Occurrence] = []
    if count <= 0:
        return found
    for occurrence in iter_occurrences(schedule, policy, after):
        found.append(occurrence)
        if len(found) == count:
            break
    return found


def occurrences_between(
    schedule: CronSchedule, policy: DstPolicy, start: datetime, end: datetime, *, limit: int = 100_000
) -> list[Occurrence]:
    """The occurrences ``o`` with ``start < o.utc <= end`` (at most ``limit``)."""
    found: list[Occurrence] = []
    for occurrence in iter_occurrences(schedule, policy, start):
        if occurrence.utc > end or len(found) >= limit:
            break
        found.append(occurrence)
    return found


def _matches_wall_in(schedule: CronSchedule, window: TransitionWindow) -> bool:
    """Whether the cron expression names a wall time in the window's skipped or repeated range."""
    cursor = window.wall_start.replace(second=0, microsecond=0)
    if cursor < window.wall_start:
        cursor += timedelta(minutes=1)
    matching: dict[date, bool] = {}
    while cursor < window.wall_end:
        day = cursor.date()
        if day not in matching:
            matching[day] = next(matching_days(schedule, day), None) == day
        if matching[day] and cursor.hour in schedule.hours and cursor.minute in schedule.minutes:
            return True
        cursor += timedelta(minutes=1)
    return False


def affected_window(schedule: CronSchedule, instant: datetime) -> TransitionWindow | None:
    """The transition window containing ``instant`` in which the schedule has wall times, if any:
    inside it the service, not EventBridge, decides which instants fire."""
    instant = instant.astimezone(UTC)
    for window in transition_windows(schedule.timezone, instant - timedelta(hours=3), instant + timedelta(hours=3)):
        if window.contains(instant) and _matches_wall_in(schedule, window):
            return window
    return None


def windows_needing_compensation(schedule: CronSchedule, start: datetime, end: datetime) -> list[TransitionWindow]:
    """The transition windows starting in [start, end) in which the schedule has wall times."""
    return [
        window for window in transition_windows(schedule.timezone, start, end) if _matches_wall_in(schedule, window)
    ]
