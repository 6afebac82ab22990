"""The invariants of issue 10 (I1-I6), checked on a world after a case has settled.

I7 (no webhook event lost or duplicated) is checked in invariants_webhooks; I8 (a workflow whose
deletion began ends with no document, live schedule or trigger) by the "delete workflow" operation. L1
(admission liveness, DESIGN.md section 5) is checked besides: a queued run that fits is started.

Definitions the checks rely on:
- I1: after a reaper pass, the holders of every lease equal the runs of that team (or workflow) in a
  slot-holding status, and no team or workflow has more slot-holding runs than its limit; and at EVERY
  step that wrote a lease, no lease document had more holders than its limit (``LeaseLimitProbe``).
- I2: at most one run per one-time schedule, per (recurring schedule, scheduled time) and per dedupe
  key; at most one schedule per create request sent with one ``Idempotency-Key`` (``single_schedule``).
- I3: no one-time schedule pending past its time plus one reaper period; none in progress past its
  run's end plus one period (or without a run past the firing grace plus one period); and none in
  progress without a run after EventBridge redelivered its firing (a retry finishes it, not the
  reaper's re-fire a grace period later).
- I4: every schedule record's desired AWS state (exists or not; expression or time; enabled) is what
  moto holds, and moto holds no schedule without a record.
- I5: no run non-terminal past a deadline it carries plus one period; after the long wait, no run
  paused past the pause TTL (7 days by default) plus one period.
- I6: no LLM/HTTP call of a turn starts after the stop's status write preceded the point where the
  turn could have observed it: its last read/write of the run document before the call, or its last
  lease write before the call when later (a turn must re-check its claim after taking the slot).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from tests.simulation.interception import Step
from workflow_service.models.dst import compensation_name
from workflow_service.schedules.cron import parse_cron, to_eventbridge

if TYPE_CHECKING:
    from tests.simulation.world import World

SLOT_HOLDING = {"started", "running", "waiting_for_user_input"}
TERMINAL = {"completed", "failed", "cancelled", "aborted_looping_risk"}
PAUSE_TTL = timedelta(days=7)
# The deadline that applies in each status (the reaper's rules); a paused run has the pause TTL.
DEADLINES = {
    "not_started": "queue_deadline_at",
    "started": "heartbeat_deadline_at",
    "running": "heartbeat_deadline_at",
    "waiting_for_user_input": "input_deadline_at",
}
# Markers a tombstone may carry (a record kept only until AWS has applied its deletion).
_TOMBSTONE_FIELDS = ("deleted", "deleted_at", "tombstone", "tombstoned_at")


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"{self.invariant}: {self.detail}"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _limits(world: World) -> dict[str, int]:
    """Each lease key's limit (0 = no cap)."""
    limits = {
        f"team:{team['_id']}": max(int(team.get("max_concurrent_runs") or 0), 1) for team in world.documents("teams")
    }
    for workflow in world.documents("workflows"):
        limits[f"workflow:{workflow['_id']}"] = int(workflow.get("max_concurrent_runs") or 0)
    return limits


class LeaseLimitProbe:
    """A ``StepHook``: after every lease write, no lease may have more holders than its limit (I1)."""

    def __init__(self, world: World) -> None:
        self._world = world
        self.violations: list[Violation] = []

    def before(self, step: Step) -> None:
        return None

    def after(self, step: Step) -> None:
        if step.collection != "concurrency_leases" or not step.writes:
            return
        limits = _limits(self._world)
        for lease in self._world.documents("concurrency_leases"):
            limit = limits.get(lease["_id"], 0)
            holders = lease.get("holders") or []
            if limit and len(holders) > limit:
                self.violations.append(
                    Violation(
                        "I1",
                        f"after step {step.index} ({step.target}) {lease['_id']} "
                        f"has {len(holders)} holders, limit {limit}",
                    )
                )


class RunCreationProbe:
    """A ``StepHook`` counting the runs ever created per dedupe key and SQS message id (I2 over time:
    a run deleted and made again for the same delivery is a duplicate even if only one is left)."""

    def __init__(self, world: World) -> None:
        self._world = world
        # Distinct run ids per key: two attempts converging on one reserved id made one run, not two.
        self.created: dict[str, set[str]] = {}

    def before(self, step: Step) -> None:
        return None

    def after(self, step: Step) -> None:
        if step.target != "workflow_runs.insert_one" or step.document is None:
            return
        found = self._world.documents("workflow_runs", {"_id": ObjectId(step.document)})
        if not found:
            return
        inner = found[0]["workflow_run"]
        trigger = inner.get("trigger") or {}
        keys = [f"dedupe key {inner.get('dedupe_key')}", f"SQS message {trigger.get('message_id')}"]
        for key, present in zip(keys, (inner.get("dedupe_key"), trigger.get("message_id")), strict=True):
            if present:
                self.created.setdefault(key, set()).add(step.document)

    def violations(self) -> list[Violation]:
        return [
            Violation("I2", f"{len(runs)} runs created over the case for {key}")
            for key, runs in sorted(self.created.items())
            if len(runs) > 1
        ]


def check_slots(world: World) -> list[Violation]:
    """I1 at rest (call after a reaper pass)."""
    found: list[Violation] = []
    runs = world.documents("workflow_runs")
    holding = {str(run["_id"]): run for run in runs if run["workflow_run"]["status"] in SLOT_HOLDING}
    limits = _limits(world)
    leases = {lease["_id"]: set(lease.get("holders") or []) for lease in world.documents("concurrency_leases")}
    expected: dict[str, set[str]] = {}
    for run_id, run in holding.items():
        expected.setdefault(f"team:{run['team_id']}", set()).add(run_id)
        expected.setdefault(f"workflow:{run['workflow_run']['workflow_id']}", set()).add(run_id)
    for key in sorted(set(leases) | set(expected)):
        held, wanted = leases.get(key, set()), expected.get(key, set())
        if held != wanted:
            extra, missing = sorted(held - wanted), sorted(wanted - held)
            found.append(
                Violation(
                    "I1",
                    f"{key}: lease holders without a slot-holding run {extra}, "
                    f"slot-holding runs without a lease {missing}",
                )
            )
        limit = limits.get(key, 0)
        if limit and len(wanted) > limit:
            found.append(Violation("I1", f"{key}: {len(wanted)} slot-holding runs over a limit of {limit}"))
    return found


def check_admission_liveness(world: World) -> list[Violation]:
    """L1 (DESIGN.md section 5, defect 7), after a reaper pass (which dispatches every team with queued
    runs): no queued run fits, as the leases say, and still waits."""
    leases = {lease["_id"]: lease.get("holders") or [] for lease in world.documents("concurrency_leases")}
    limits = _limits(world)
    for run in world.documents("workflow_runs", {"workflow_run.status": "not_started"}):
        inner = run["workflow_run"]
        team, workflow = f"team:{run['team_id']}", f"workflow:{inner['workflow_id']}"
        team_free = limits.get(team, 1) - len(leases.get(team, []))
        cap = limits.get(workflow, 0)
        if team_free > 0 and (cap == 0 or len(leases.get(workflow, [])) < cap):
            return [Violation("L1", f"queued run {run['_id']} fits ({team_free} team slots free) but was not started")]
    return []


def check_uniqueness(world: World, *, single_schedule: bool = False) -> list[Violation]:
    """I2."""
    found: list[Violation] = []
    keys: Counter[str] = Counter()
    for run in world.documents("workflow_runs"):
        inner = run["workflow_run"]
        trigger = inner.get("trigger") or {}
        if trigger.get("schedule_id"):
            keys[f"one-time schedule {trigger['schedule_id']}"] += 1
        if trigger.get("recurring_schedule_id"):
            keys[f"recurring schedule {trigger['recurring_schedule_id']} at {trigger.get('scheduled_time')}"] += 1
        if inner.get("dedupe_key"):
            keys[f"dedupe key {inner['dedupe_key']}"] += 1
    found += [Violation("I2", f"{count} runs for {key}") for key, count in sorted(keys.items()) if count > 1]
    if single_schedule:
        for collection in ("workflow_schedules", "recurring_schedules"):
            live = [d for d in world.documents(collection) if d.get("status") != "cancelled" and not _tombstone(d)]
            if len(live) > 1:
                found.append(
                    Violation("I2", f"{len(live)} {collection} from one request retried with one Idempotency-Key")
                )
    return found


def check_schedule_progress(world: World, period: timedelta, firing_grace: timedelta) -> list[Violation]:
    """I3 at the world's current time."""
    found: list[Violation] = []
    now = world.clock.now()
    runs = {str(run["_id"]): run["workflow_run"] for run in world.documents("workflow_runs")}
    for schedule in world.documents("workflow_schedules"):
        status, name = schedule.get("status"), f"one-time schedule {schedule['_id']}"
        if status == "pending" and _utc(schedule["scheduled_time"]) + period < now:
            found.append(
                Violation("I3", f"{name} still pending {now - _utc(schedule['scheduled_time'])} after its time")
            )
        if status != "in_progress":
            continue
        run_id = schedule.get("actual_run_id")
        if run_id is None:
            fired = _utc(schedule.get("fired_at") or schedule.get("updated_at"))
            if fired is not None and fired + firing_grace + period < now:
                found.append(Violation("I3", f"{name} in progress without a run since {fired:%H:%M:%S}"))
            continue
        run = runs.get(str(run_id))
        if run is None:
            found.append(Violation("I3", f"{name} in progress but its run {run_id} is gone"))
        elif run["status"] in TERMINAL and _utc(run.get("finished_at")) and _utc(run["finished_at"]) + period < now:
            found.append(Violation("I3", f"{name} in progress although its run ended ({run['status']})"))
    return found


def check_redelivered_firings(world: World) -> list[Violation]:
    """I3's last clause: EventBridge delivered a one-time firing more than once (a delivery failed or
    crashed, and it retried with the same target input), yet the schedule is in progress without a run."""
    deliveries = Counter(str(event.get("schedule_id")) for event in world.eventbridge.delivered)
    return [
        Violation("I3", f"one-time schedule {schedule['_id']} in progress without a run after its redelivery")
        for schedule in world.documents("workflow_schedules", {"status": "in_progress", "actual_run_id": None})
        if deliveries[str(schedule["_id"])] > 1
    ]


def _tombstone(document: dict[str, Any]) -> bool:
    return any(document.get(name) for name in _TOMBSTONE_FIELDS) or document.get("desired") == "absent"


def _wanted_compensations(world: World, schedule: dict[str, Any]) -> dict[str, tuple[str, str, bool]]:
    """The compensating DST at() schedules a live recurring record wants AWS to hold (its future
    instants: a fired at() deletes itself)."""
    now = world.clock.now()
    instants = [_utc(value) for value in schedule.get("dst_compensations") or []]
    return {
        compensation_name(str(schedule["_id"]), instant): (f"at({instant:%Y-%m-%dT%H:%M:%S})", "UTC", True)
        for instant in instants
        if instant is not None and instant > now
    }


def check_convergence(world: World) -> list[Violation]:
    """I4 (call after a reconciliation pass)."""
    found: list[Violation] = []
    aws = world.eventbridge.schedules()
    wanted: dict[str, tuple[str, str, bool] | None] = {}
    for schedule in world.documents("workflow_schedules"):
        name = schedule.get("schedule_name") or f"once-{schedule['_id']}"
        if schedule.get("status") == "pending" and not _tombstone(schedule):
            wanted[name] = (f"at({_utc(schedule['scheduled_time']):%Y-%m-%dT%H:%M:%S})", "UTC", True)
        else:
            wanted[name] = None
    for schedule in world.documents("recurring_schedules"):
        name = schedule.get("schedule_name") or f"cron-{schedule['_id']}"
        if _tombstone(schedule):
            wanted[name] = None
            continue
        expression = to_eventbridge(parse_cron(schedule["cron_expression"], schedule["timezone"]))
        wanted[name] = (expression, schedule["timezone"], bool(schedule.get("enabled")))
        wanted.update(_wanted_compensations(world, schedule))
    for name in sorted(set(wanted) | set(aws)):
        desired, actual = wanted.get(name), aws.get(name)
        if name not in wanted:
            found.append(
                Violation("I4", f"EventBridge has {name} ({actual.expression if actual else ''}) with no record")
            )
        elif desired is None and actual is not None:
            found.append(
                Violation("I4", f"{name} should be absent from EventBridge but is there ({actual.expression})")
            )
        elif desired is not None and actual is None:
            found.append(Violation("I4", f"{name} is missing from EventBridge (MongoDB wants {desired[0]})"))
        elif desired is not None and actual is not None:
            seen = (actual.expression, actual.timezone, actual.enabled)
            if seen != desired:
                found.append(Violation("I4", f"{name}: EventBridge holds {seen}, MongoDB wants {desired}"))
    return found


def check_deadlines(world: World, period: timedelta, *, pause_expiry: bool = False) -> list[Violation]:
    """I5 at the world's current time (``pause_expiry`` once the long wait has passed)."""
    found: list[Violation] = []
    now = world.clock.now()
    for run in world.documents("workflow_runs"):
        inner = run["workflow_run"]
        if inner["status"] in TERMINAL:
            continue
        field = DEADLINES.get(inner["status"])
        deadline = _utc(inner.get(field)) if field else None
        if deadline is not None and deadline + period < now:
            found.append(
                Violation("I5", f"run {run['_id']} {inner['status']} past its {field} ({now - deadline} late)")
            )
        paused_since = _utc(run.get("updated_at"))
        if pause_expiry and inner["status"] == "paused" and paused_since and paused_since + PAUSE_TTL + period < now:
            found.append(Violation("I5", f"run {run['_id']} paused for {now - paused_since} (past the pause TTL)"))
    return found


def check_no_side_effect_after_stop(
    trace: list[Step], stop_actor: str, turn_actor: str, run_id: str
) -> list[Violation]:
    """I6 over one interleaving's trace."""
    stop_write = next(
        (
            s
            for s in trace
            if s.actor == stop_actor and s.writes and s.collection == "workflow_runs" and s.document == run_id
        ),
        None,
    )
    if stop_write is None:
        return []
    found: list[Violation] = []
    observed_at = -1
    for step in trace:
        if step.actor != turn_actor:
            continue
        reads_its_run = step.collection == "workflow_runs" and step.document == run_id
        if reads_its_run or (step.collection == "concurrency_leases" and step.writes):
            observed_at = step.index
        elif step.kind in {"llm", "http"} and stop_write.index < observed_at < step.index:
            found.append(
                Violation(
                    "I6",
                    f"{step.target} at step {step.index} after the stop's write at step {stop_write.index} "
                    f"(observable from step {observed_at})",
                )
            )
    return found
