"""Issue 14's firing paths in the simulation: overlap policies (firing x firing, firing x run end, the
buffered start's crash points) and backfill, with the overlap invariants O1-O2.

- O1: no two runs of a schedule with an overlap policy other than ``allow`` were live at once (by
  their recorded start and end; a run replaced at the instant another starts does not count; a
  backfill's runs do not count, since a backfill asks for every occurrence whatever the policy).
- O2: after settling, a schedule's active firing names a run that exists and is live, and a buffered
  firing waits only behind an active one (no claim, buffer or ended run is left stuck).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.simulation import scenarios as s
from tests.simulation.invariants import TERMINAL, Violation
from tests.simulation.pairs import Pair
from tests.simulation.world import World, conversation_workflow

CRON = "0 * * * *"
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def at(hour: int) -> str:
    return f"2030-01-01T{hour:02d}:00:00Z"


def _move_clock(world: World, hour: int) -> None:
    world.clock.current = datetime(2030, 1, 1, hour, 0, 1, tzinfo=UTC)
    world.eventbridge.horizon = world.clock.now()  # firings are delivered by the cases themselves


def fire(hour: int) -> Callable[[World, s.Context], object]:
    def act(world: World, context: s.Context) -> object:
        return world.fire({"schedule_id": context.schedule_id, "kind": "recurring", "scheduled_time": at(hour)})

    return act


def with_policy(policy: str) -> Callable[[World], s.Context]:
    """A schedule with ``policy`` on a workflow whose runs wait for the user (limit 3: overlaps could run)."""

    def prepare(world: World) -> s.Context:
        team = world.team(3)
        context = s.Context(team, world.workflow(team, conversation_workflow()))
        body = {"cron_expression": CRON, "timezone": "UTC", "overlap_policy": policy}
        reply = world.api("create_recurring_schedule", team, path={"workflow_id": context.workflow_id}, body=body)
        assert reply.status == 200, reply
        context.schedule_id = str(reply.body["_id"])
        _move_clock(world, 14)
        return context

    return prepare


def with_active(policy: str) -> Callable[[World], s.Context]:
    """The 13:00 firing's run is waiting for the user; the clock is at 14:00."""

    def prepare(world: World) -> s.Context:
        context = with_policy(policy)(world)
        _move_clock(world, 13)
        outcome = fire(13)(world, context)
        assert isinstance(outcome, dict) and outcome["outcome"] == "started", outcome
        context.run_ids.append(str(outcome["run_id"]))
        world.drain_worker()
        _move_clock(world, 14)
        return context

    return prepare


def with_buffered(world: World) -> s.Context:
    """buffer_one: the 13:00 run waits, the 14:00 firing waits for it; the clock is at 15:00."""
    context = with_active("buffer_one")(world)
    outcome = fire(14)(world, context)
    assert isinstance(outcome, dict) and outcome["outcome"] == "buffered", outcome
    _move_clock(world, 15)
    return context


def with_fired_hours(world: World) -> s.Context:
    """A report schedule whose 16:00 occurrence passed unfired (the clock at 16:30): one occurrence is
    enough for the crash points, since a backfill repeats one idempotent start per occurrence."""
    context = s.with_recurring(world)
    world.clock.current = datetime(2030, 1, 1, 16, 30, tzinfo=UTC)
    world.eventbridge.horizon = world.clock.now()
    return context


def stop_first_run(world: World, context: s.Context) -> object:
    return s.run_command("stop")(world, context)


def backfill(world: World, context: s.Context) -> object:
    return world.api(
        "backfill_recurring_schedule",
        context.team,
        path={"schedule_id": context.schedule_id},
        body={"start": at(15), "end": at(16)},
    )


# -- invariants -------------------------------------------------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _runs_by_schedule(world: World) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in world.documents("workflow_runs"):
        schedule_id = (run["workflow_run"].get("trigger") or {}).get("recurring_schedule_id")
        if schedule_id:
            runs.setdefault(schedule_id, []).append(run)
    return runs


def check_overlap(world: World) -> list[Violation]:
    """O1 and O2 (see the module docstring)."""
    found: list[Violation] = []
    runs = _runs_by_schedule(world)
    for schedule in world.documents("recurring_schedules"):
        if schedule.get("overlap_policy", "allow") == "allow" or schedule.get("deleted_at") is not None:
            continue
        schedule_id = str(schedule["_id"])
        mine = runs.get(schedule_id, [])
        spans = sorted(
            (_utc(run["created_at"]), _utc(run["workflow_run"].get("finished_at")) or FAR_FUTURE, str(run["_id"]))
            for run in mine
            if not run["workflow_run"]["trigger"].get("backfill")
        )
        for index, (_, end_a, a) in enumerate(spans):
            for start_b, _, b in spans[index + 1 :]:
                if start_b is not None and start_b < end_a:
                    found.append(Violation("O1", f"schedule {schedule_id}: runs {a} and {b} were live at once"))
        active, buffered = schedule.get("active_firing"), schedule.get("buffered_firing")
        if buffered is not None and active is None:
            found.append(Violation("O2", f"schedule {schedule_id}: a buffered firing waits behind no active one"))
        if active is not None:
            by_time = {
                _utc(run["workflow_run"]["trigger"].get("scheduled_time")): run
                for run in mine
                if run["workflow_run"]["trigger"].get("scheduled_time") is not None
            }
            run = by_time.get(_utc(active["scheduled_time"]))
            if run is None or run["workflow_run"]["status"] in TERMINAL:
                state = "no run" if run is None else f"run {run['_id']} {run['workflow_run']['status']}"
                found.append(
                    Violation("O2", f"schedule {schedule_id}: active firing {active['scheduled_time']} has {state}")
                )
    return found


# cancel_previous's firing (stop, then claim and start) is covered by its race with the run's end below;
# its own 90 crash cases would double this module's bounded cost.
OPERATIONS: tuple[s.Operation, ...] = (
    s.Operation("fire recurring (skip, previous active)", with_active("skip"), fire(14)),
    s.Operation("fire recurring (buffer_one, previous active)", with_active("buffer_one"), fire(14)),
    s.Operation("buffered start at run end", with_buffered, stop_first_run),
    s.Operation("backfill", with_fired_hours, backfill),
)

# One preemption keeps the bounded set to tens of seconds; every conditional write here is a single
# step, so one switch already puts each racing write between the other side's read and write.
PAIRS: tuple[Pair, ...] = (
    Pair("fire x fire (skip, none active)", with_policy("skip"), fire(13), fire(14), max_preemptions=1),
    Pair("fire x run end (buffer_one)", with_active("buffer_one"), fire(14), stop_first_run, max_preemptions=1),
    Pair(
        "fire x run end (cancel_previous)", with_active("cancel_previous"), fire(14), stop_first_run, max_preemptions=1
    ),
    Pair("buffered start x fire", with_buffered, stop_first_run, fire(15), max_preemptions=1),
)

CHECKS: tuple[Callable[[World], list[Violation]], ...] = (check_overlap,)
