"""Crash plans: kill an operation at its k-th step, before the call or after it took effect."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tests.simulation.interception import Step


class SimulatedCrash(BaseException):
    """The Lambda running the operation died. A BaseException, so ``except Exception`` cannot swallow it;
    once raised, every later step of the same operation raises it too (see ``CrashPlan``)."""


class CrashPoint(StrEnum):
    BEFORE = "before"  # the k-th call never reaches the store / AWS
    AFTER = "after"  # the k-th call took effect, its answer is lost


@dataclass
class CrashPlan:
    """A ``StepHook`` crashing ``actor`` at its ``step``-th step (1-based) at ``point``.

    After the crash the actor is dead: its every later step raises before doing anything, so
    compensation code (``except BaseException: undo``) cannot write either.
    """

    actor: str
    step: int
    point: CrashPoint
    seen: int = 0
    crashed: bool = False

    def before(self, step: Step) -> None:
        if step.actor != self.actor:
            return
        if self.crashed:
            raise SimulatedCrash(f"{self.actor} is dead (crashed earlier)")
        self.seen += 1
        if self.seen == self.step and self.point is CrashPoint.BEFORE:
            self.crashed = True
            raise SimulatedCrash(f"{self.actor} crashed before step {self.step}: {step.target}")

    def after(self, step: Step) -> None:
        if step.actor == self.actor and not self.crashed and self.seen == self.step and self.point is CrashPoint.AFTER:
            self.crashed = True
            raise SimulatedCrash(f"{self.actor} crashed after step {self.step}: {step.target}")
