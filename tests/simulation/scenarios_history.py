"""Recurring execution history in the simulation: the counters and the rows they summarize.

- H1: once settled, a recurring schedule's ``run_count``, ``success_count`` and ``failure_count``
  equal what its history rows say (rows other than ``skipped``; ``success`` rows; ``failed`` rows),
  whatever step of a firing, a run's end or a backfill crashed: a count is never lost or doubled.
- H2: once settled, an occurrence a backfill asked for (its request answered 200) has a run, and its
  history row names that run: an occurrence that was skipped is run, not reported as existing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from tests.simulation import scenarios as s
from tests.simulation import scenarios_overlap as overlap
from tests.simulation.invariants import Violation, _utc
from tests.simulation.world import World

FOURTEEN = datetime(2030, 1, 1, 14, tzinfo=UTC)


def check_counters(world: World) -> list[Violation]:
    """H1 (see the module docstring)."""
    rows: dict[str, Counter[str]] = {}
    for row in world.documents("recurring_schedule_history"):
        rows.setdefault(str(row["schedule_id"]), Counter())[row["status"]] += 1
    found: list[Violation] = []
    for schedule in world.documents("recurring_schedules"):
        statuses = rows.get(str(schedule["_id"]), Counter())
        wanted = {
            "run_count": sum(count for status, count in statuses.items() if status != "skipped"),
            "success_count": statuses["success"],
            "failure_count": statuses["failed"],
        }
        held = {name: int(schedule.get(name) or 0) for name in wanted}
        if held != wanted:
            found.append(Violation("H1", f"schedule {schedule['_id']}: counters {held}, history says {wanted}"))
    return found


@dataclass
class BackfillContext(s.Context):
    answered: bool = False  # the backfill's last attempt answered 200 (a crashed one never answers)


def with_skipped_occurrence(world: World) -> BackfillContext:
    """A skip-policy schedule: the 13:00 run waits for the user, so the 14:00 firing was skipped."""
    context = overlap.with_active("skip")(world)
    outcome = overlap.fire(14)(world, context)
    assert isinstance(outcome, dict) and outcome["outcome"] == "skipped", outcome
    return BackfillContext(context.team, context.workflow_id, context.run_ids, context.schedule_id)


def backfill_the_skipped_occurrence(world: World, context: s.Context) -> object:
    reply = world.api(
        "backfill_recurring_schedule",
        context.team,
        path={"schedule_id": context.schedule_id},
        body={"start": overlap.at(13), "end": overlap.at(14)},
    )
    if isinstance(context, BackfillContext):
        context.answered = reply.status == 200
    return reply


def the_skipped_occurrence_ran(world: World, context: s.Context) -> list[Any]:
    """H2 for the operation's case, once it settled."""
    if not (isinstance(context, BackfillContext) and context.answered):
        return []  # the request never answered: its client does not know it ran, and retries
    rows = world.documents("recurring_schedule_history", {"schedule_id": context.schedule_id})
    row = next((row for row in rows if _utc(row["scheduled_time"]) == FOURTEEN), None)
    run_id = None if row is None else row.get("execution_id")
    if run_id is None or not world.documents("workflow_runs", {"_id": ObjectId(run_id)}):
        return [Violation("H2", f"schedule {context.schedule_id}: the backfilled 14:00 occurrence has no run: {row}")]
    return []


OPERATIONS: tuple[s.Operation, ...] = (
    s.Operation(
        "backfill a skipped occurrence",
        with_skipped_occurrence,
        backfill_the_skipped_occurrence,
        check=the_skipped_occurrence_ran,
    ),
)

CHECKS: tuple[Callable[[World], list[Violation]], ...] = (check_counters,)
