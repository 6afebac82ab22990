"""Compensating firings: the service, not EventBridge, decides what fires inside DST transition windows.

AWS documents only that a time repeated when clocks fall back "runs only once", not at which instant,
so for a recurring schedule with wall times inside a transition window (``schedules.occurrences``):

- every native EventBridge delivery whose scheduled time falls in that window is dropped (a debug
  log, no history row, no run): ``drops_native``;
- each instant the schedule's DST policy wants inside the window fires from a one-time ``at()``
  schedule, named from the schedule id and the instant (``models.dst.compensation_name``), in the same
  group, whose target input carries the schedule id, the occurrence and the generation. It fires
  through the same firing key (schedule id, scheduled time) as a native delivery, so nothing doubles.

The compensating schedules of the next ``HORIZON`` are part of the schedule's desired AWS state: the
record holds them (``dst_compensations``) with its generation, every push makes AWS hold them (and
deletes the ones a previous definition had), and ``dst_review_at`` says when the horizon reaches the
next window, so the reconciler plans again only then (a sweep over an index, costing in proportion
to the transitions coming up, not to the schedules stored).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from workflow_service.models.dst import DstPolicy, compensation_name
from workflow_service.models.schedules import ScheduleKind
from workflow_service.ports.schedules import ScheduleDefinition
from workflow_service.schedules.cron import CronSchedule, parse_cron
from workflow_service.schedules.occurrences import affected_window, occurrences_between, windows_needing_compensation

if TYPE_CHECKING:
    from workflow_service.models.recurring import RecurringSchedule

# How far ahead compensating schedules are kept.
HORIZON = timedelta(days=35)
# Plan again this long before the horizon would miss the next window (the reaper may run late).
REVIEW_LEAD = timedelta(days=1)
# Where no window is coming within this, look again after it (a newer tzdata may bring one).
QUIET_REVIEW = timedelta(days=365)


@dataclass(frozen=True)
class DstPlan:
    """The compensating firings of a schedule from ``now`` to ``planned_until``, and when to plan again."""

    compensations: list[datetime] = field(default_factory=list)
    planned_until: datetime | None = None
    review_at: datetime | None = None

    def fields(self) -> dict[str, Any]:
        """The record fields this plan sets."""
        return {
            "dst_compensations": list(self.compensations),
            "dst_planned_until": self.planned_until,
            "dst_review_at": self.review_at,
        }


def plan(cron_expression: str, timezone: str, policy: DstPolicy, enabled: bool, now: datetime) -> DstPlan:
    """What a schedule with these values needs AWS to hold besides its cron schedule (none while disabled)."""
    if not enabled:
        return DstPlan()
    schedule = parse_cron(cron_expression, timezone)
    now = now.astimezone(UTC).replace(microsecond=0)
    until = now + HORIZON
    compensations: set[datetime] = set()
    # From a few hours back: a window already under way still needs its remaining instants.
    for window in windows_needing_compensation(schedule, now - timedelta(hours=3), until):
        for occurrence in occurrences_between(
            schedule, policy, max(now, window.start - timedelta(seconds=1)), window.end
        ):
            if window.start <= occurrence.utc < window.end:
                compensations.add(occurrence.utc)
    return DstPlan(sorted(compensations), until, _review_at(schedule, until, now))


def plan_after(current: RecurringSchedule, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The DST plan fields of ``current`` once the update ``fields`` are applied."""
    policy = DstPolicy.model_validate(fields.get("dst_policy", current.dst_policy))
    return plan(
        fields.get("cron_expression", current.cron_expression),
        fields.get("timezone", current.timezone),
        policy,
        fields.get("enabled", current.enabled),
        now,
    ).fields()


def _review_at(schedule: CronSchedule, until: datetime, now: datetime) -> datetime:
    coming = windows_needing_compensation(schedule, until, until + QUIET_REVIEW)
    if not coming:
        return now + QUIET_REVIEW
    return max(now, coming[0].at - HORIZON + REVIEW_LEAD)


def drops_native(cron_expression: str, timezone: str, planned_until: datetime | None, scheduled_time: datetime) -> bool:
    """Whether a native delivery due at ``scheduled_time`` falls in a transition window the schedule's
    compensating firings cover (then they, not this delivery, fire the window's instants). A schedule
    never planned (written before compensations existed, or not yet reviewed) keeps its native firings."""
    if planned_until is None:
        return False
    window = affected_window(parse_cron(cron_expression, timezone), scheduled_time)
    return window is not None and window.at < planned_until


def compensation_definitions(
    schedule_id: str, instants: Iterable[datetime], generation: int, cron_expression: str, timezone: str
) -> list[ScheduleDefinition]:
    """The at() schedules of the compensating firings ``instants``."""
    return [
        ScheduleDefinition(
            name=compensation_name(schedule_id, instant),
            schedule_id=schedule_id,
            kind=ScheduleKind.RECURRING,
            fire_at=instant,
            cron_expression=cron_expression,
            timezone=timezone,
            generation=generation,
            occurrence=instant,
        )
        for instant in instants
    ]
