"""The transition table: the only way a run's status changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow_service.errors import IllegalTransition
from workflow_service.models.runs import SLOT_HOLDING_STATUSES, TERMINAL_STATUSES, RunStatus
from workflow_service.runs.transitions import ALLOWED_FROM, ALLOWED_TO, Transition, check, sources

statuses = st.sampled_from(list(RunStatus))
transitions = st.sampled_from(list(Transition))


@given(transitions, statuses, statuses)
def test_check_accepts_exactly_the_table(transition, current, target):
    allowed = current in ALLOWED_FROM[transition] and target in ALLOWED_TO[transition]
    if allowed:
        assert check(transition, current, target) is target
    else:
        with pytest.raises(IllegalTransition) as refused:
            check(transition, current, target)
        assert current.value in refused.value.message and transition.value in refused.value.message


@given(transitions, st.sampled_from(sorted(TERMINAL_STATUSES)))
def test_terminal_statuses_are_final(transition, terminal):
    assert terminal not in ALLOWED_FROM[transition]


def test_every_transition_has_sources_and_targets():
    assert set(ALLOWED_FROM) == set(Transition) == set(ALLOWED_TO)
    for transition in Transition:
        assert sources(transition) == sorted(s.value for s in ALLOWED_FROM[transition])


def test_commands_match_the_documented_lifecycle():
    assert RunStatus.WAITING_FOR_USER_INPUT in ALLOWED_FROM[Transition.DATA]
    assert RunStatus.PAUSED not in ALLOWED_FROM[Transition.DATA]
    assert RunStatus.PAUSED in ALLOWED_FROM[Transition.RESUME]
    assert RunStatus.RUNNING not in ALLOWED_FROM[Transition.PAUSE]  # a turn in flight cannot be paused
    assert RunStatus.RUNNING in ALLOWED_FROM[Transition.STOP]  # but it can be stopped: its commit is then discarded
    assert RunStatus.NOT_STARTED in ALLOWED_FROM[Transition.ADMIT]


def test_slot_holders_are_exactly_started_running_waiting():
    assert {RunStatus.STARTED, RunStatus.RUNNING, RunStatus.WAITING_FOR_USER_INPUT} == SLOT_HOLDING_STATUSES
    assert not SLOT_HOLDING_STATUSES & TERMINAL_STATUSES


def test_a_paused_run_is_failed_only_by_the_reaper():
    # The reaper fails a run paused past its pause TTL
    assert check(Transition.REAP, RunStatus.PAUSED, RunStatus.FAILED) is RunStatus.FAILED
    # No other transition takes a paused run to failed: the user may only resume or stop it
    for transition in set(Transition) - {Transition.REAP}:
        with pytest.raises(IllegalTransition):
            check(transition, RunStatus.PAUSED, RunStatus.FAILED)
