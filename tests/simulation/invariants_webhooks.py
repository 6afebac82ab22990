"""I7: after convergence (reaper passes), every causing state change has exactly one webhook event per
subscribed subscription: none lost, none doubled, none for a change that did not happen.

The causing changes are read from the settled world's documents of the subscribed team:
- a run with ``started_at`` was started: ``workflow_run_started:<run>:started``;
- a run in a terminal status ended: ``workflow_run_completed:<run>:<status>``;
- a workflow document (a tombstone included) was created: ``workflow_created:<id>``, and updated
  ``webhook_revision`` times: ``workflow_updated:<id>:<1..revision>``;
- a workflow marked deleted, or one the case knew (``WebhookWorld.workflow_ids``) whose document is
  gone: ``workflow_deleted:<id>``;
- a version write (a rename, a config update) counted in the version's ``webhook_changes``: that many
  of the workflow's revisions, so a live workflow must have counted all of them
  (``webhook_versions.<n>``), else their events are lost without the revisions showing it.
- a run the case knew (``WebhookWorld.run_ids``) whose document is gone was deleted, and a delete ends a
  live run first: one ``workflow_run_completed:<run>:<status>``, of whichever status it ended with.

Only worlds a webhook scenario prepared are checked (``webhook_world`` is None otherwise). Delivery is
not part of I7 here: an event a crash left unsent is re-sent by the delivery part's due sweep.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.simulation.invariants import TERMINAL, Violation

if TYPE_CHECKING:
    from tests.fakes.webhooks import InMemoryWebhookSubscriptions
    from tests.simulation.world import World

_LEDGER = "webhook_world"


@dataclass
class WebhookWorld:
    """What a webhook scenario installed in its world: the subscriptions, the subscribed team, its
    workflows and runs (the events are the world's ``webhook_events`` documents)."""

    team_id: str
    subscriptions: InMemoryWebhookSubscriptions
    workflow_ids: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


def install(world: World, ledger: WebhookWorld) -> None:
    world.__dict__[_LEDGER] = ledger


def webhook_world(world: World) -> WebhookWorld | None:
    ledger = world.__dict__.get(_LEDGER)
    return ledger if isinstance(ledger, WebhookWorld) else None


def expected_keys(world: World, ledger: WebhookWorld) -> set[tuple[str, str]]:
    """(action, dedupe key) of every causing change the settled world shows."""
    team = ledger.team_id
    expected: set[tuple[str, str]] = set()
    for run in world.documents("workflow_runs", {"team_id": team}):
        inner, run_id = run["workflow_run"], str(run["_id"])
        if inner.get("started_at") is not None:
            expected.add(("workflow_run_started", f"workflow_run_started:{run_id}:started"))
        if inner["status"] in TERMINAL:
            expected.add(("workflow_run_completed", f"workflow_run_completed:{run_id}:{inner['status']}"))
    present = set()
    for workflow in world.documents("workflows", {"team_id": team}):
        workflow_id = str(workflow["_id"])
        present.add(workflow_id)
        expected.add(("workflow_created", f"workflow_created:{workflow_id}"))
        for revision in range(1, int(workflow.get("webhook_revision") or 0) + 1):
            expected.add(("workflow_updated", f"workflow_updated:{workflow_id}:{revision}"))
        if workflow.get("deleted_at") is not None:
            expected.add(("workflow_deleted", f"workflow_deleted:{workflow_id}"))
    for workflow_id in set(ledger.workflow_ids) - present:
        expected |= {
            ("workflow_created", f"workflow_created:{workflow_id}"),
            ("workflow_deleted", f"workflow_deleted:{workflow_id}"),
        }
    return expected


def check_webhook_events(world: World) -> list[Violation]:
    """I7 (see the module docstring)."""
    ledger = webhook_world(world)
    if ledger is None:
        return []
    expected = expected_keys(world, ledger)
    gone = set(ledger.workflow_ids) - {str(w["_id"]) for w in world.documents("workflows")}
    gone_runs = set(ledger.run_ids) - {str(r["_id"]) for r in world.documents("workflow_runs")}
    found: list[Violation] = []
    for subscription in ledger.subscriptions.team_subscriptions(ledger.team_id):
        written = Counter(
            (event["action"], event["dedupe_key"])
            for event in world.documents("webhook_events", {"subscription_id": subscription.id})
        )
        actions = {a.value for a in subscription.actions}
        wanted = {(action, key) for action, key in expected if action in actions}
        doubled = sorted(key for (_, key), count in written.items() if count > 1)
        for run_id in sorted(gone_runs) if "workflow_run_completed" in actions else ():
            # Its status went with the document: whichever one completion was written is the wanted one.
            prefix = f"workflow_run_completed:{run_id}:"
            ended = {(action, key) for action, key in written if key.startswith(prefix)}
            wanted |= ended or {("workflow_run_completed", f"{prefix}<its end>")}
            doubled += sorted(key for _, key in ended)[1:]
        lost = sorted(key for _, key in wanted - set(written))
        # Updates of a workflow, and the start of a run, whose document is gone cannot be counted from the
        # world: not "extra".
        extra = sorted(
            key
            for action, key in set(written) - wanted
            if not (action == "workflow_updated" and key.split(":")[1] in gone)
            and not (action == "workflow_run_started" and key.split(":")[1] in gone_runs)
        )
        for kind, keys in (("lost", lost), ("without a causing change", extra), ("doubled", doubled)):
            if keys:
                found.append(Violation("I7", f"subscription {subscription.id}: events {kind}: {keys[:3]}"))
    return found + uncounted_version_changes(world, ledger)


def uncounted_version_changes(world: World, ledger: WebhookWorld) -> list[Violation]:
    """Version writes of the team's live workflows not counted as revisions of their workflow (I7)."""
    live = {str(w["_id"]): w for w in world.documents("workflows", {"team_id": ledger.team_id, "deleted_at": None})}
    found: list[Violation] = []
    for version in world.documents("workflow_versions", {"team_id": ledger.team_id}):
        workflow = live.get(version["workflow_id"])
        if workflow is None:
            continue
        number, changes = version["version_number"], int(version.get("webhook_changes") or 0)
        counted = int((workflow.get("webhook_versions") or {}).get(str(number)) or 0)
        if counted != changes:
            found.append(
                Violation(
                    "I7",
                    f"version {version['workflow_id']}/{number}: {changes} changes, {counted} counted as "
                    "workflow revisions (their workflow_updated events are lost or doubled)",
                )
            )
    return found
