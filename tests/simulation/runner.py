"""Runs the crash cases and the interleavings, settles each world and collects the violations."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

from tests.simulation import catalogue
from tests.simulation.crashes import CrashPlan, CrashPoint, SimulatedCrash
from tests.simulation.interleaving import BatonController, Decision, HarnessError, enumerate_schedules
from tests.simulation.invariants import (
    LeaseLimitProbe,
    RunCreationProbe,
    Violation,
    check_admission_liveness,
    check_convergence,
    check_deadlines,
    check_no_side_effect_after_stop,
    check_redelivered_firings,
    check_schedule_progress,
    check_slots,
    check_uniqueness,
)
from tests.simulation.pairs import Pair
from tests.simulation.scenarios import Operation
from tests.simulation.world import LONGEST_DEADLINE, REAPER_PERIOD, World

OPERATION_ACTOR = "op"
PAUSE_WAIT = timedelta(days=7)


@dataclass(frozen=True)
class CaseResult:
    """One case: its label (operation, k, before/after, retry; or the pair and its choices) and findings."""

    group: str
    label: str
    violations: tuple[Violation, ...]


@dataclass
class Budget:
    """How much to run: ``bounded`` for ``make test``, the full set for ``make simulate``."""

    preemption_bound: int = 2  # a pair may lower it (``Pair.max_preemptions``)
    retries: tuple[bool, ...] = (False, True)
    after_reads: bool = True  # "after" a read equals "before" the next call; the bounded set skips it
    long_wait: bool = True


BOUNDED = Budget(after_reads=False)
FULL = Budget(preemption_bound=3)


def settle(world: World, *, single_schedule: bool = False, long_wait: bool = True) -> list[Violation]:
    """Let time pass (reaper passes, EventBridge firings, the worker) and check every invariant."""
    found: list[Violation] = []
    grace = timedelta(seconds=world.settings.reaper.schedule_firing_grace_seconds)
    for phase, advance in enumerate(
        (REAPER_PERIOD, LONGEST_DEADLINE + REAPER_PERIOD, REAPER_PERIOD, grace + REAPER_PERIOD)
    ):
        world.settle_once(advance)
        if phase == 0:  # "after one reaper pass": before later deadlines expire what is wrong
            found += check_slots(world)
            found += check_admission_liveness(world)
            found += check_convergence(world)
            found += check_redelivered_firings(world)
        found += check_schedule_progress(world, REAPER_PERIOD, grace)
        found += check_deadlines(world, REAPER_PERIOD)
    found += check_slots(world)
    found += check_convergence(world)
    found += check_uniqueness(world, single_schedule=single_schedule)
    for area_check in catalogue.CHECKS:
        found += area_check(world)
    paused = world.documents("workflow_runs", {"workflow_run.status": "paused"})
    if long_wait and paused:  # only paused runs can be left behind by the long wait's check
        world.settle_once(PAUSE_WAIT)
        world.settle_once(REAPER_PERIOD)
        found += check_deadlines(world, REAPER_PERIOD, pause_expiry=True)
    # One finding per invariant and message shape is enough to name the defect; keep the first.
    return _distinct(found)


def _distinct(found: list[Violation]) -> list[Violation]:
    seen: set[str] = set()
    kept = []
    for violation in found:
        if violation.invariant not in seen:
            seen.add(violation.invariant)
            kept.append(violation)
    return kept


def no_crash_case(operation: Operation, budget: Budget) -> CaseResult:
    """An operation too long to crash at every step (a liveness scenario): run once, then settle."""
    world = World()
    context = operation.prepare(world)
    probe, creations = LeaseLimitProbe(world), RunCreationProbe(world)
    world.interceptor.hooks += [probe, creations]
    with world.acting_as(OPERATION_ACTOR), suppress(Exception):
        operation.act(world, context)
    violations = [*probe.violations[:1], *settle(world, long_wait=budget.long_wait), *creations.violations()]
    violations += operation.check(world, context)
    world.interceptor.hooks.clear()
    return CaseResult(operation.name, f"{operation.name} (no crash)", tuple(_distinct(violations)))


def crash_case(operation: Operation, k: int, point: CrashPoint, retry: bool, budget: Budget) -> CaseResult:
    label = f"{operation.name} k={k} {point.value} {'retry' if retry else 'no retry'}"
    world = World()
    context = operation.prepare(world)
    plan = CrashPlan(OPERATION_ACTOR, k, point)
    probe, creations = LeaseLimitProbe(world), RunCreationProbe(world)
    world.interceptor.hooks += [plan, probe, creations]
    # Internal operations may raise (an API handler answers instead); the case goes on as after a crash.
    with world.acting_as(OPERATION_ACTOR), suppress(SimulatedCrash, Exception):
        operation.act(world, context)
    violations: list[Violation] = []
    if not plan.crashed:
        violations.append(Violation("harness", f"no crash at step {k}: the operation made fewer steps this time"))
    # A retry may be refused: what matters is the state it leaves.
    with world.acting_as("retry"), suppress(Exception):
        if retry:
            operation.act(world, context)
        else:
            operation.give_up(world, context)
    violations += settle(world, single_schedule=operation.single_schedule, long_wait=budget.long_wait)
    violations += probe.violations[:1] + creations.violations()
    violations += operation.check(world, context)
    world.interceptor.hooks.clear()
    return CaseResult(operation.name, label, tuple(_distinct(violations)))


def crash_cases(operation: Operation, budget: Budget) -> list[CaseResult]:
    if not operation.crash_points:
        return [no_crash_case(operation, budget)]
    steps = _steps_with_kinds(operation)
    results = []
    for k, writes in enumerate(steps, start=1):
        points = [CrashPoint.BEFORE] + ([CrashPoint.AFTER] if writes or budget.after_reads else [])
        for point in points:
            for retry in budget.retries:
                results.append(crash_case(operation, k, point, retry, budget))
    return results


def _steps_with_kinds(operation: Operation) -> list[bool]:
    """Run the operation once without a crash: whether each of its steps writes (n = the length)."""
    world = World()
    context = operation.prepare(world)
    with world.acting_as(OPERATION_ACTOR), suppress(Exception):  # an internal operation's error still made steps
        operation.act(world, context)
    return [step.writes for step in world.interceptor.steps_of(OPERATION_ACTOR)]


@dataclass
class _PairRun:
    pair: Pair
    budget: Budget
    results: list[CaseResult] = field(default_factory=list)

    def run_one(self, prefix: Sequence[str]) -> tuple[list[Decision], object]:
        world = World()
        context = self.pair.prepare(world)
        probe, creations = LeaseLimitProbe(world), RunCreationProbe(world)
        world.interceptor.hooks += [probe, creations]
        controller = BatonController(world.interceptor, self.pair.sides(world, context), prefix)
        violations: list[Violation] = []
        try:
            controller.run()
        except HarnessError as error:
            violations.append(Violation("harness", str(error)))
        choices = "".join(decision.chosen for decision in controller.decisions)
        trace = list(world.interceptor.trace)
        world.interceptor.hooks.remove(probe)
        violations += creations.violations()
        if self.pair.stop_side is not None and context.run_ids:
            run = world.documents("workflow_runs", {"_id": _object_id(context.run_ids[0])})
            if run and run[0]["workflow_run"].get("termination_source") == "user_stop":
                turn_side = "B" if self.pair.stop_side == "A" else "A"
                violations += check_no_side_effect_after_stop(trace, self.pair.stop_side, turn_side, context.run_ids[0])
        violations += probe.violations[:1]
        violations += settle(world, long_wait=self.budget.long_wait)
        self.results.append(
            CaseResult(self.pair.name, f"{self.pair.name} choices {choices}", tuple(_distinct(violations)))
        )
        return controller.decisions, None


def _object_id(value: str) -> object:
    from bson import ObjectId

    return ObjectId(value)


def interleavings(pair: Pair, budget: Budget) -> list[CaseResult]:
    run = _PairRun(pair, budget)
    bound = min(budget.preemption_bound, pair.max_preemptions)
    for _ in enumerate_schedules(run.run_one, bound=bound):
        pass
    return run.results
