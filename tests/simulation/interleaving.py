"""Interleavings: a baton controller that lets exactly one operation run at a time, switching only at
steps, and a depth-first enumerator of every schedule within a preemption bound (as CHESS does).

Each operation runs in its own thread. When a thread reaches a step it hands the baton back to the
controller and waits; the controller picks which waiting thread proceeds (the *choice*), so the store
(mongomock) is only ever used by one thread at a time and the run is a pure function of the choices.
A *preemption* is a choice of another thread while the one that ran last could have continued.

The enumerator replays a prefix of choices, then lets the run continue without preemptions, and for
every later decision point pushes each alternative whose preemption count stays within the bound:
every schedule with at most ``bound`` preemptions is executed exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from tests.simulation.interception import Interceptor, Step

# How long a thread may run between two steps before the case is declared a harness deadlock.
STEP_TIMEOUT_SECONDS = 20.0


class HarnessError(Exception):
    """The harness could not run a case as planned (a deadlock, a replay that diverged)."""


class _Aborted(BaseException):
    pass


@dataclass(frozen=True)
class Decision:
    """One choice point: who could run, who ran before, who was chosen, and preemptions so far."""

    enabled: tuple[str, ...]
    previous: str | None
    chosen: str
    preemptions_before: int

    @property
    def preempts(self) -> bool:
        return self.previous is not None and self.previous in self.enabled and self.chosen != self.previous


def preemption_cost(decision: Decision, alternative: str) -> int:
    """Preemptions of the schedule that takes ``alternative`` at ``decision``."""
    switched = decision.previous is not None and decision.previous in decision.enabled
    return decision.preemptions_before + (1 if switched and alternative != decision.previous else 0)


@dataclass
class _Thread:
    name: str
    body: Callable[[], object]
    thread: threading.Thread | None = None
    waiting: Step | None = None
    finished: bool = False
    outcome: object = None
    error: BaseException | None = None


@dataclass
class BatonController:
    """Runs ``operations`` (actor name -> callable) one step at a time, choosing with ``prefix`` and
    then without preemption. A ``StepHook`` on the case's interceptor."""

    interceptor: Interceptor
    operations: dict[str, Callable[[], object]]
    prefix: Sequence[str] = ()
    step_timeout: float = STEP_TIMEOUT_SECONDS
    decisions: list[Decision] = field(default_factory=list)
    _threads: dict[str, _Thread] = field(default_factory=dict)
    _holder: str | None = None
    _aborted: bool = False
    _condition: threading.Condition = field(default_factory=threading.Condition)

    # -- StepHook --------------------------------------------------------------------------------

    def before(self, step: Step) -> None:
        me = self._threads.get(step.actor)
        if me is None:
            return
        with self._condition:
            me.waiting = step
            self._holder = None
            self._condition.notify_all()
            while self._holder != me.name:
                if self._aborted:
                    raise _Aborted()
                self._condition.wait(self.step_timeout)
            me.waiting = None

    def after(self, step: Step) -> None:
        return None

    # -- running a schedule ----------------------------------------------------------------------

    def run(self) -> dict[str, _Thread]:
        """Run every operation to its end under the choices; returns each thread's outcome."""
        self.interceptor.hooks.append(self)
        try:
            for name, body in self.operations.items():
                self._threads[name] = _Thread(name, body)
            for name in self.operations:  # each runs up to its first step, in a fixed order
                self._start(self._threads[name])
            previous: str | None = None
            preemptions = 0
            while True:
                enabled = tuple(name for name, thread in self._threads.items() if thread.waiting is not None)
                if not enabled:
                    break
                index = len(self.decisions)
                if index < len(self.prefix):
                    chosen = self.prefix[index]
                    if chosen not in enabled:
                        raise HarnessError(f"replay diverged at choice {index}: {chosen} is not among {enabled}")
                else:
                    chosen = previous if previous in enabled else enabled[0]
                decision = Decision(enabled, previous, chosen, preemptions)
                preemptions += int(decision.preempts)
                self.decisions.append(decision)
                self._grant(self._threads[chosen])
                previous = chosen
            return self._threads
        finally:
            self._abort_stragglers()
            self.interceptor.hooks.remove(self)

    def _start(self, thread: _Thread) -> None:
        def body() -> None:
            try:
                with self.interceptor.acting_as(thread.name):
                    thread.outcome = thread.body()
            except _Aborted:
                thread.error = HarnessError("aborted")
            except BaseException as error:  # the operation's own outcome (an API error, a crash)
                thread.error = error
            finally:
                with self._condition:
                    thread.finished = True
                    self._holder = None
                    self._condition.notify_all()

        with self._condition:
            self._holder = thread.name
        thread.thread = threading.Thread(target=body, name=f"sim-{thread.name}", daemon=True)
        thread.thread.start()
        self._wait_for_handback(thread)

    def _grant(self, thread: _Thread) -> None:
        with self._condition:
            self._holder = thread.name
            self._condition.notify_all()
        self._wait_for_handback(thread)

    def _wait_for_handback(self, thread: _Thread) -> None:
        with self._condition:
            while self._holder == thread.name and not thread.finished:
                if not self._condition.wait(self.step_timeout):
                    self._aborted = True
                    self._condition.notify_all()
                    raise HarnessError(f"deadlock: {thread.name} neither reached a step nor finished")

    def _abort_stragglers(self) -> None:
        with self._condition:
            self._aborted = True
            self._condition.notify_all()
        for thread in self._threads.values():
            if thread.thread is not None:
                thread.thread.join(self.step_timeout)


@dataclass(frozen=True)
class Schedule:
    """One executed interleaving: its choices and what the case reported."""

    choices: tuple[str, ...]
    result: object


def enumerate_schedules(
    run_one: Callable[[Sequence[str]], tuple[list[Decision], object]], *, bound: int, limit: int | None = None
) -> Iterator[Schedule]:
    """Every schedule with at most ``bound`` preemptions, depth first; ``run_one(prefix)`` runs one
    case following ``prefix`` and returns its decisions and result. Stops after ``limit`` schedules."""
    stack: list[tuple[str, ...]] = [()]
    executed = 0
    while stack and (limit is None or executed < limit):
        prefix = stack.pop()
        decisions, result = run_one(prefix)
        executed += 1
        yield Schedule(tuple(decision.chosen for decision in decisions), result)
        branches: list[tuple[str, ...]] = []
        for index in range(len(prefix), len(decisions)):
            decision = decisions[index]
            for alternative in decision.enabled:
                if alternative != decision.chosen and preemption_cost(decision, alternative) <= bound:
                    branches.append((*(d.chosen for d in decisions[:index]), alternative))
        stack.extend(reversed(branches))
