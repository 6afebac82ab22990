"""The one table of run status changes (Prefect-style: named transitions, terminal states final).

Every status write in the service is checked here first; an illegal change is an
``IllegalTransition`` (409), never a silent write. Stored writes are then made conditional on the
source statuses this table allows, so two writers cannot both win.
"""

from __future__ import annotations

from enum import StrEnum

from workflow_service.errors import IllegalTransition
from workflow_service.models.runs import RunStatus

S = RunStatus


class Transition(StrEnum):
    # user commands
    START = "start"
    DATA = "data"
    RESUME = "resume"
    PAUSE = "pause"
    STOP = "stop"
    # service events
    ADMIT = "admit"  # a queued run got its slot
    FINISH_TURN = "finish_turn"  # a claimed turn committed its result
    REAP = "reap"  # the stale-run reaper failed it (a paused run only by the reaper: its pause TTL)


# transition -> statuses it may start from
ALLOWED_FROM: dict[Transition, frozenset[RunStatus]] = {
    Transition.START: frozenset({S.STARTED}),
    Transition.DATA: frozenset({S.WAITING_FOR_USER_INPUT}),
    Transition.RESUME: frozenset({S.PAUSED}),
    Transition.PAUSE: frozenset({S.STARTED, S.WAITING_FOR_USER_INPUT}),
    Transition.STOP: frozenset({S.NOT_STARTED, S.STARTED, S.RUNNING, S.WAITING_FOR_USER_INPUT, S.PAUSED}),
    Transition.ADMIT: frozenset({S.NOT_STARTED}),
    Transition.FINISH_TURN: frozenset({S.RUNNING}),
    Transition.REAP: frozenset({S.NOT_STARTED, S.STARTED, S.RUNNING, S.WAITING_FOR_USER_INPUT, S.PAUSED}),
}

# transition -> statuses it may lead to
ALLOWED_TO: dict[Transition, frozenset[RunStatus]] = {
    Transition.START: frozenset({S.RUNNING}),
    Transition.DATA: frozenset({S.RUNNING}),
    Transition.RESUME: frozenset({S.RUNNING}),
    Transition.PAUSE: frozenset({S.PAUSED}),
    Transition.STOP: frozenset({S.CANCELLED}),
    Transition.ADMIT: frozenset({S.STARTED}),
    Transition.FINISH_TURN: frozenset({S.WAITING_FOR_USER_INPUT, S.COMPLETED, S.FAILED, S.ABORTED_LOOPING_RISK}),
    Transition.REAP: frozenset({S.FAILED}),
}


def check(transition: Transition, current: RunStatus, target: RunStatus) -> RunStatus:
    """``target`` if ``transition`` may take a run from ``current`` to it; IllegalTransition otherwise."""
    if current not in ALLOWED_FROM[transition] or target not in ALLOWED_TO[transition]:
        raise IllegalTransition(current.value, transition.value)
    return target


def sources(transition: Transition) -> list[str]:
    """The stored status values a conditional write for ``transition`` must match."""
    return sorted(status.value for status in ALLOWED_FROM[transition])
