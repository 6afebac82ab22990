"""EventBridge Scheduler as moto holds it, with what moto does not do emulated: firing due schedules
and the self-deletion of ``at()`` schedules after firing (``ActionAfterCompletion=DELETE``).

moto stores schedules but never fires them. ``fire_due`` lists the group, reads each schedule, and
for each enabled one that is due invokes the target with its input, ``<aws.scheduler.scheduled-time>``
substituted. A recurring ``cron(...)`` is timed from the POSIX expression it was pushed from (recorded
when the port pushed it), firing every occurrence since the previous ``fire_due`` with EventBridge's
own DST rule: a spring-gap time is skipped, a repeated time fires once, at the instant ``fall_back``
names (AWS does not document which, so the service must work with either). A delivery that
raises is retried on the next ``fire_due``, up to the schedule's retry attempts, then dropped (DLQ).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workflow_service.models.common import format_utc
from workflow_service.models.dst import NATIVE_SPRING_FORWARD, DstPolicy, FallBack
from workflow_service.models.schedules import SCHEDULED_TIME_PLACEHOLDER
from workflow_service.schedules.cron import parse_cron, to_eventbridge
from workflow_service.schedules.occurrences import next_occurrences

logger = logging.getLogger(__name__)
DELIVERY_ATTEMPTS = 3


@dataclass(frozen=True)
class AwsSchedule:
    """What GetSchedule answers, reduced to what MongoDB's desired state is compared with."""

    name: str
    expression: str
    timezone: str
    enabled: bool
    target_input: str
    delete_after_completion: bool


@dataclass
class EventBridgeEmulation:
    """moto's schedules in ``group`` plus their firing; ``deliver`` invokes the schedule-target handler."""

    client: Any
    group: str
    now: Callable[[], datetime]
    deliver: Callable[[dict[str, Any]], object]
    horizon: datetime | None = None
    fall_back: FallBack = FallBack.FIRST
    # Whether anything was pushed to the group since it was last emptied: moto's calls cost ~6 ms
    # each, and most cases (runs only) never create a schedule, so they skip listing the group.
    touched: bool = True
    cron_sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    _failures: dict[tuple[str, str], int] = field(default_factory=dict)
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def remember_push(self, definition: Any) -> None:
        """Record the POSIX source of a pushed recurring definition (moto keeps only the AWS form)."""
        self.touched = True
        if getattr(definition, "cron_expression", None):
            schedule = parse_cron(definition.cron_expression, definition.timezone)
            self.cron_sources[to_eventbridge(schedule)] = (definition.cron_expression, definition.timezone)

    def clear(self) -> None:
        if self.touched:
            for name in self.names():
                self.client.delete_schedule(Name=name, GroupName=self.group)
        self.touched = False

    def names(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            page = self.client.list_schedules(GroupName=self.group, **({"NextToken": token} if token else {}))
            names += [item["Name"] for item in page.get("Schedules", [])]
            token = page.get("NextToken")
            if not token:
                return sorted(names)

    def schedules(self) -> dict[str, AwsSchedule]:
        found: dict[str, AwsSchedule] = {}
        if not self.touched:
            return found
        for name in self.names():
            answer = self.client.get_schedule(Name=name, GroupName=self.group)
            found[name] = AwsSchedule(
                name=name,
                expression=answer["ScheduleExpression"],
                timezone=answer.get("ScheduleExpressionTimezone") or "UTC",
                enabled=answer.get("State", "ENABLED") == "ENABLED",
                target_input=answer["Target"].get("Input") or "{}",
                delete_after_completion=answer.get("ActionAfterCompletion") == "DELETE",
            )
        return found

    def fire_due(self) -> int:
        """Deliver every firing due since the previous call; returns how many deliveries were made."""
        now = self.now()
        since = self.horizon or now
        deliveries = 0
        for schedule in self.schedules().values():
            if not schedule.enabled:
                continue
            for due in self._due_times(schedule, since, now):
                deliveries += 1
                if self._deliver(schedule, due) and schedule.delete_after_completion:
                    self.client.delete_schedule(Name=schedule.name, GroupName=self.group)
        self.horizon = now
        return deliveries

    def next_due(self, until: datetime) -> datetime | None:
        """The earliest firing after the last ``fire_due`` and no later than ``until``, if any."""
        since = self.horizon or self.now()
        times = [
            due
            for schedule in self.schedules().values()
            if schedule.enabled
            for due in self._due_times(schedule, since, until)
            if due > since
        ]
        return min(times, default=None)

    def give_up(self) -> None:
        """EventBridge's retries of every due firing are spent: at() schedules delete themselves (the
        event goes to the dead-letter queue), recurring ones move on."""
        now = self.now()
        for schedule in self.schedules().values():
            if schedule.delete_after_completion and self._due_times(schedule, self.horizon or now, now):
                self.client.delete_schedule(Name=schedule.name, GroupName=self.group)
        self.horizon = now

    def _due_times(self, schedule: AwsSchedule, since: datetime, now: datetime) -> list[datetime]:
        expression = schedule.expression
        if expression.startswith("at("):
            due = datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)
            return [due] if due <= now else []
        source = self.cron_sources.get(expression)
        if source is None:
            logger.warning("eventbridge emulation: no POSIX source for %s; not fired", expression)
            return []
        native = DstPolicy(spring_forward=NATIVE_SPRING_FORWARD, fall_back=self.fall_back)
        return [found.utc for found in next_occurrences(parse_cron(*source), native, since, 10) if found.utc <= now]

    def _deliver(self, schedule: AwsSchedule, due: datetime) -> bool:
        """One delivery; True when it is done with (succeeded, or its retries are spent)."""
        event = json.loads(schedule.target_input.replace(SCHEDULED_TIME_PLACEHOLDER, format_utc(due)))
        self.delivered.append(event)
        try:
            self.deliver(event)
            return True
        except Exception:
            key = (schedule.name, format_utc(due))
            self._failures[key] = self._failures.get(key, 0) + 1
            logger.info("eventbridge emulation: delivery of %s failed (attempt %d)", schedule.name, self._failures[key])
            return self._failures[key] >= DELIVERY_ATTEMPTS
