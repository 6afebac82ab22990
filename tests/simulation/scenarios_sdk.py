"""The product SDK's multi-write workflow operations: a version's config replaced in place (archive the
current revision, then swap it in one conditional write) while a run of the old revision waits, and
that run's next turn. Checked against the shared invariants at every crash point, with and without
the request retried."""

from __future__ import annotations

from tests.simulation.scenarios import Context, Operation, execute_later_turn, with_waiting
from tests.simulation.world import World, conversation_workflow


def update_config_then_continue(world: World, context: Context) -> object:
    config = conversation_workflow()
    config["nodes"][0]["main_response_config"] = {"prompt": "A new revision"}
    world.api(
        "update_workflow_version_config",
        context.team,
        path={"workflow_id": context.workflow_id, "version_number": 0},
        body={"config": config},
    )
    # The run started on revision 0 keeps it: its turn reads the archived revision.
    return execute_later_turn(world, context)


OPERATIONS: tuple[Operation, ...] = (Operation("update version config", with_waiting, update_config_then_continue),)
