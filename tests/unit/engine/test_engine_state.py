"""The typed run state reads and writes the stored schema-1 document exactly; the node registry is complete."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from workflow_service.engine.nodes import NODE_EXECUTORS
from workflow_service.engine.state import RunState, ThreadPhase, ThreadStatus, UnreadableState
from workflow_service.models.runs import RunStatus
from workflow_service.models.workflow_config import NodeType

STORED = json.loads((Path(__file__).parent / "stored_states" / "waiting_with_companion_state_v1.json").read_text())


def test_a_stored_document_reads_into_typed_state_and_writes_back_unchanged():
    state = RunState.from_document(STORED)

    assert state.status is RunStatus.WAITING_FOR_USER_INPUT
    assert state.main.status is ThreadStatus.WAITING
    assert state.threads["watcher"].phase is ThreadPhase.ROUTE
    document = state.to_document()
    assert document == STORED
    assert json.dumps(document, sort_keys=True) == json.dumps(STORED, sort_keys=True)
    assert type(document["status"]) is str
    assert {type(thread["status"]) for thread in document["threads"].values()} == {str}
    assert {type(thread["phase"]) for thread in document["threads"].values()} == {str}


def test_reading_copies_the_document():
    original = copy.deepcopy(STORED)
    state = RunState.from_document(STORED)

    state.main.runtime_variables["changed"] = True
    state.history.append({"role": "user", "content": "more"})

    assert original == STORED


def test_fields_this_engine_does_not_know_are_kept():
    document = copy.deepcopy(STORED)
    document["written_by_a_newer_engine"] = {"x": 1}
    document["threads"]["0"]["thread_note"] = "kept"

    assert RunState.from_document(document).to_document() == document


@pytest.mark.parametrize(
    "spoil",
    [
        lambda document: document.update(schema_version=2),
        lambda document: document["threads"]["0"].update(status="sleeping"),
        lambda document: document["threads"]["watcher"].pop("phase"),
        lambda document: document["threads"]["0"].update(loop_turns=[]),
        lambda document: document.pop("history"),
        lambda document: document.update(status="unheard_of"),
    ],
)
def test_a_document_that_is_not_a_schema_1_engine_state_is_unreadable(spoil):
    document = copy.deepcopy(STORED)
    spoil(document)

    with pytest.raises(UnreadableState):
        RunState.from_document(document)


def test_a_document_nested_too_deep_to_copy_is_unreadable_not_a_crash():
    # Given a stored state with a runtime variable nested far past the recursion limit
    document = copy.deepcopy(STORED)
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    document["threads"]["0"]["runtime_variables"]["tree"] = deep
    # When it is read, Then it is reported as unreadable state instead of raising RecursionError
    with pytest.raises(UnreadableState, match="nested too deep"):
        RunState.from_document(document)


def test_every_node_type_has_an_executor():
    assert set(NODE_EXECUTORS) == set(NodeType)
