"""An in-memory EventBridge Scheduler for the local runtime: ``ports.Scheduler`` plus the clock logic.

It keeps each schedule's definition and its next due time, computed the way EventBridge does:
a one-time schedule is due at its ``at`` time and is deleted once taken (``ActionAfterCompletion=DELETE``);
a recurring one is due at the next time its cron expression matches in its time zone (a time in the
spring-forward gap is skipped, a repeated fall-back time fires once), only while enabled and only
inside its StartDate / EndDate. A flexible window delays each delivery by a random amount within it
(the scheduled time the target sees stays the nominal one, as on AWS). EventBridge's own DST rule
applies: a time in the spring-forward gap is skipped, a repeated fall-back time fires once; AWS does not
document which of the two instants, so ``fall_back`` picks (``first`` or ``second``: the local runtime's
``LOCAL_SCHEDULER_FALL_BACK``), and tests check that the service never depends on it. A recurring
schedule's compensating firing (``occurrence`` set) is an at() schedule like a one-time one.
``local.scheduler_emulation`` polls ``take_due`` and invokes the schedule-target handler.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from workflow_service.adapters.local.account import LOCAL_ACCOUNT_ID, LOCAL_REGION
from workflow_service.models.dst import NATIVE_SPRING_FORWARD, DstPolicy, FallBack
from workflow_service.models.schedules import ScheduleKind
from workflow_service.ports.schedules import ListedSchedule
from workflow_service.schedules import bounds
from workflow_service.schedules.cron import CronSchedule, parse_cron
from workflow_service.schedules.occurrences import next_occurrences

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.schedules import ScheduleDefinition

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueFiring:
    """One firing to deliver: the schedule and the time it was due (EventBridge's scheduled-time)."""

    definition: ScheduleDefinition
    scheduled_time: datetime


@dataclass
class _Entry:
    definition: ScheduleDefinition
    next_due: datetime | None
    delay: timedelta = timedelta(0)  # the flexible window's share of the next delivery

    @property
    def deliver_at(self) -> datetime | None:
        return None if self.next_due is None else self.next_due + self.delay


class InMemoryScheduler:
    """``ports.Scheduler`` kept in this process. Thread-safe.

    ``calls`` counts API calls by EventBridge operation name, like the AWS adapter's.
    """

    def __init__(
        self,
        group_name: str,
        clock: Clock,
        *,
        jitter: random.Random | None = None,
        fall_back: FallBack = FallBack.FIRST,
    ) -> None:
        if fall_back is FallBack.BOTH:
            raise ValueError("EventBridge fires a repeated time once: fall_back is 'first' or 'second'")
        self._group_name = group_name
        self._clock = clock
        self._jitter = jitter or random.Random()
        self._native = DstPolicy(spring_forward=NATIVE_SPRING_FORWARD, fall_back=fall_back)
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    # -- ports.Scheduler ------------------------------------------------------------------------

    def arn_for(self, name: str) -> str:
        return f"arn:aws:scheduler:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:schedule/{self._group_name}/{name}"

    def create(self, definition: ScheduleDefinition) -> str:
        _check(definition)
        with self._lock:
            self.calls["CreateSchedule"] += 1
            if definition.name in self._entries:
                # As the AWS adapter does on a ConflictException: the schedule exists, so update it.
                self.calls["UpdateSchedule"] += 1
            self._entries[definition.name] = self._entry(definition)
        return self.arn_for(definition.name)

    def update(self, definition: ScheduleDefinition) -> str:
        _check(definition)
        with self._lock:
            self.calls["UpdateSchedule"] += 1
            self._entries[definition.name] = self._entry(definition)
        return self.arn_for(definition.name)

    def delete(self, name: str) -> None:
        with self._lock:
            self.calls["DeleteSchedule"] += 1
            self._entries.pop(name, None)

    def list_names(self, next_token: str | None, limit: int) -> tuple[list[str], str | None]:
        listed, token = self.list_schedules(next_token, limit)
        return [schedule.name for schedule in listed], token

    def list_schedules(self, next_token: str | None, limit: int) -> tuple[list[ListedSchedule], str | None]:
        """Schedules in name order, paged by the last name returned (the token)."""
        with self._lock:
            self.calls["ListSchedules"] += 1
            entries = sorted(
                (name, entry.definition.enabled)
                for name, entry in self._entries.items()
                if next_token is None or name > next_token
            )
        page = entries[: max(1, limit)]
        token = page[-1][0] if len(entries) > len(page) else None
        return [ListedSchedule(name, enabled) for name, enabled in page], token

    # -- emulation ------------------------------------------------------------------------------

    def get(self, name: str) -> ScheduleDefinition | None:
        with self._lock:
            entry = self._entries.get(name)
            return None if entry is None else entry.definition

    def next_due(self, name: str) -> datetime | None:
        """When the schedule next fires (None if disabled, unknown or never again)."""
        with self._lock:
            entry = self._entries.get(name)
            return None if entry is None else entry.next_due

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def take_due(self, now: datetime) -> list[DueFiring]:
        """The firings due at ``now``, earliest first; advances recurring schedules and deletes the
        one-time ones taken. A recurring schedule that fell behind (the machine slept) fires once for
        its latest missed time and resumes from ``now``, rather than replaying a backlog."""
        due: list[DueFiring] = []
        with self._lock:
            for name, entry in list(self._entries.items()):
                if entry.next_due is None or entry.deliver_at is None or entry.deliver_at > now:
                    continue
                definition = entry.definition
                if _is_at(definition):
                    due.append(DueFiring(definition, entry.next_due))
                    del self._entries[name]
                    continue
                schedule = parse_cron(definition.cron_expression or "", definition.timezone)
                missed = [entry.next_due, *self._fires_until(schedule, entry.next_due, now - entry.delay)]
                missed = bounds.bounded(missed, definition.start_at, definition.end_at) or [entry.next_due]
                if len(missed) > 1:
                    logger.warning(
                        "local scheduler: %s missed %d firings; firing the latest only", name, len(missed) - 1
                    )
                due.append(DueFiring(definition, missed[-1]))
                entry.next_due = self._next_due(schedule, definition, missed[-1])
                entry.delay = self._delay(definition)
        return sorted(due, key=lambda firing: firing.scheduled_time)

    def _entry(self, definition: ScheduleDefinition) -> _Entry:
        return _Entry(definition, self._first_due(definition), self._delay(definition))

    def _delay(self, definition: ScheduleDefinition) -> timedelta:
        """A random share of the flexible window (EventBridge picks one within it for each firing)."""
        window = definition.flexible_window_minutes
        return timedelta(seconds=self._jitter.uniform(0, window * 60)) if window > 0 else timedelta(0)

    def _first_due(self, definition: ScheduleDefinition) -> datetime | None:
        if not definition.enabled:
            return None
        if _is_at(definition):
            return definition.fire_at
        schedule = parse_cron(definition.cron_expression or "", definition.timezone)
        return self._next_due(schedule, definition, self._clock.now())

    def _next_due(self, schedule: CronSchedule, definition: ScheduleDefinition, after: datetime) -> datetime | None:
        """The next firing strictly after ``after`` inside the definition's StartDate / EndDate."""
        return bounds.next_within(
            lambda cursor: self._next_fire_time(schedule, cursor), after, definition.start_at, definition.end_at
        )

    def _next_fire_time(self, schedule: CronSchedule, after: datetime) -> datetime | None:
        found = next_occurrences(schedule, self._native, after, 1)
        return found[0].utc if found else None

    def _fires_until(
        self, schedule: CronSchedule, after: datetime, now: datetime, limit: int = 10_000
    ) -> list[datetime]:
        """Firings in (after, now], bounded so a long sleep on a per-minute schedule stays cheap."""
        fires: list[datetime] = []
        cursor = after
        while len(fires) < limit:
            batch = [found.utc for found in next_occurrences(schedule, self._native, cursor, 100) if found.utc <= now]
            fires.extend(batch)
            if len(batch) < 100:
                break
            cursor = batch[-1]
        return fires


def _is_at(definition: ScheduleDefinition) -> bool:
    """An at() schedule: one-time, or a recurring schedule's compensating firing."""
    return definition.kind is ScheduleKind.ONE_TIME or definition.occurrence is not None


def _check(definition: ScheduleDefinition) -> None:
    """Refuse, as the EventBridge adapter does before any call, a definition EventBridge could not be
    given: a one-time schedule without its time, a recurring one without a valid expression (disabled
    ones too: they may be enabled later). ValueError (CronError for a bad expression)."""
    if _is_at(definition):
        if definition.fire_at is None:
            raise ValueError(f"one-time schedule {definition.name} has no fire_at")
        return
    if definition.cron_expression is None:
        raise ValueError(f"recurring schedule {definition.name} has no cron expression")
    parse_cron(definition.cron_expression, definition.timezone)
