"""The product SDK's multi-write workflow operations: a version's config replaced in place (archive the
current revision, then swap it in one conditional write) while a run of the old revision waits, and
that run's next turn. Checked against the shared invariants and ``check_runs_keep_their_config`` at
every crash point, with and without the request retried."""

from __future__ import annotations

from collections.abc import Callable

from tests.simulation.invariants import Violation
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


def check_runs_keep_their_config(world: World) -> list[Violation]:
    """Every run's config revision can still be read: it is its version's current one, or archived."""
    found: list[Violation] = []
    for run in world.documents("workflow_runs"):
        inner = run["workflow_run"]
        revision = inner.get("config_revision") or 0
        key = {"workflow_id": inner["workflow_id"], "version_number": inner["version_number"]}
        versions = world.documents("workflow_versions", key)
        if not versions or (versions[0].get("config_revision") or 0) == revision:
            continue
        if not world.documents("workflow_version_revisions", {**key, "config_revision": revision}):
            found.append(
                Violation(
                    "run keeps its config",
                    f"run {run['_id']} started on revision {revision} of version {key['version_number']}, "
                    f"which is neither current ({versions[0].get('config_revision')}) nor archived",
                )
            )
    return found


CHECKS: tuple[Callable[[World], list[Violation]], ...] = (check_runs_keep_their_config,)
