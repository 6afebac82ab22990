"""Webhook emission in the simulation: the run and workflow operations that cause events, for a team
with one or two subscriptions to every action, crashed at every step (invariant I7, invariants_webhooks).

The world gets an in-memory subscription reader (every team subscribed) and delivery queue
(tests/fakes/webhooks) installed where the other webhook parts plug in (``services().webhooks``); the
events are written by the service's own Mongo event store, so its inserts are store steps, and the
queue's sends are steps too: a crash can fall between the causing write, each event and the marker's
clearing. Some operations also see their first event insert fail (``FirstInsertFails``): the Lambda
lives on and must neither lose the event nor the marker it could be re-emitted from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue, InMemoryWebhookSubscriptions
from tests.simulation import scenarios as base
from tests.simulation import scenarios_overlap as overlap
from tests.simulation.interception import InterceptedPort
from tests.simulation.invariants_webhooks import WebhookWorld, check_webhook_events, install
from tests.simulation.pairs import Pair
from tests.simulation.scenarios import Context, Operation
from tests.simulation.world import World
from workflow_service.errors import StoreUnavailable
from workflow_service.ports.webhooks import WebhookAction, WebhookEvent, WebhookSubscription

SUBSCRIPTION_IDS = ("5" * 24, "6" * 24)
URL = "https://example.com/hook"


class EveryTeamSubscriptions(InMemoryWebhookSubscriptions):
    """``count`` subscriptions to every action, held by whichever team asks: the set-up's team exists only
    once the set-up runs, and its first workflow's creation must already be heard."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def team_subscriptions(self, team_id: str) -> list[WebhookSubscription]:
        self.reads += 1
        return [
            WebhookSubscription(sid, team_id, f"sub {n}", URL, frozenset(WebhookAction), True, None, ())
            for n, sid in enumerate(SUBSCRIPTION_IDS[: self.count])
        ]

    def subscribed(self, team_id: str, action: WebhookAction) -> list[WebhookSubscription]:
        return self.team_subscriptions(team_id)


class FirstInsertFails:
    """The world's event store, whose first insert made by the request (the operation or its retry)
    raises what the Mongo adapter raises when the store cannot be reached; the Lambda lives on."""

    def __init__(self, world: World, events: Any) -> None:
        self._world = world
        self._events = events
        self.failed = False

    def insert_if_absent(self, event: WebhookEvent) -> bool:
        if not self.failed and self._world.interceptor.actor in {"op", "retry"}:  # tests.simulation.runner's
            self.failed = True
            raise StoreUnavailable("event store unreachable")
        return bool(self._events.insert_if_absent(event))

    def __getattr__(self, name: str) -> object:
        return getattr(self._events, name)


def subscribed(
    setup: Callable[[World], Context], count: int = 1, *, failing_insert: bool = False
) -> Callable[[World], Context]:
    """``setup`` in a world whose team has ``count`` subscriptions to every action (installed before
    anything is built). Two only where a crash between two subscriptions' events is worth its cost.
    ``failing_insert``: the request's first event insert fails (``FirstInsertFails``)."""

    def prepare(world: World) -> Context:
        subscriptions = EveryTeamSubscriptions(count)
        webhooks = world.services.webhooks
        webhooks.__dict__.update(
            subscriptions=subscriptions,
            delivery_queue=InterceptedPort(
                InMemoryWebhookDeliveryQueue(), world.interceptor, "webhooks", frozenset({"send"})
            ),
        )
        if failing_insert:
            webhooks.__dict__["events"] = FirstInsertFails(world, webhooks.events)
        context = setup(world)
        ledger = WebhookWorld(context.team.caller.team_id, subscriptions, [context.workflow_id], context.run_ids)
        install(world, ledger)
        return context

    return prepare


def create_workflow(world: World, context: Context) -> object:
    body = {"name": "made", "workflow_config": base.conversation_workflow()}
    return world.api("create_workflow", context.team, body=body)


def update_workflow(world: World, context: Context) -> object:
    return world.api("update_workflow", context.team, path={"workflow_id": context.workflow_id}, body={"name": "new"})


def create_version(world: World, context: Context) -> object:
    path = {"workflow_id": context.workflow_id}
    return world.api(
        "create_workflow_version", context.team, path=path, body={"version_name": "v1", "mark_as_active": True}
    )


def delete_workflow(world: World, context: Context) -> object:
    return world.api("delete_workflow", context.team, path={"workflow_id": context.workflow_id})


def clone_workflow(world: World, context: Context) -> object:
    return world.api("clone_workflow", context.team, path={"workflow_id": context.workflow_id}, body={})


def import_bundle(world: World, context: Context) -> object:
    query = {"version_numbers": "0", "active_version_number": 0}
    bundle = world.api("export_workflow", context.team, path={"workflow_id": context.workflow_id}, query=query)
    return world.api("import_workflow_bundle", context.team, body={"bundle": bundle.body})


def update_version_config(world: World, context: Context, number: int = 0) -> object:
    """Version ``number``'s config as read, with a new prompt: a retry reads the changed config and sends it
    unchanged (the ids a client read are kept), as a client retrying the same change does."""
    path = {"workflow_id": context.workflow_id, "version_number": number}
    config = world.api("get_workflow_version", context.team, path=path).body["version"]["workflow_config"]
    config["nodes"][0]["main_response_config"] = {"prompt": "A new revision"}
    return world.api("update_workflow_version_config", context.team, path=path, body={"config": config})


def rename_version(name: str, number: int = 1) -> Callable[[World, Context], object]:
    def rename(world: World, context: Context) -> object:
        path = {"workflow_id": context.workflow_id, "version_number": number}
        return world.api("rename_workflow_version", context.team, path=path, body={"version_name": name})

    return rename


def delete_version(world: World, context: Context) -> object:
    path = {"workflow_id": context.workflow_id, "version_number": 1}
    return world.api("delete_workflow_version", context.team, path=path)


def with_second_version(world: World) -> Context:
    """The conversation workflow with an inactive version 1 (made through the API: its event is heard)."""
    context = base.conversation(world)
    create_version_inactive = world.api(
        "create_workflow_version", context.team, path={"workflow_id": context.workflow_id}, body={"version_name": "v1"}
    )
    assert create_version_inactive.status == 200, create_version_inactive
    return context


def delete_run(world: World, context: Context) -> object:
    return world.api("delete_workflow_run", context.team, path={"workflow_run_id": context.run_ids[0]})


OPERATIONS: tuple[Operation, ...] = (
    Operation("webhooks: execute first turn", subscribed(base.conversation, 2), base.execute_first_turn),
    Operation("webhooks: start", subscribed(base.conversation), base.start_run),
    Operation("webhooks: stop", subscribed(base.with_waiting), base.run_command("stop")),
    Operation("webhooks: dispatch", subscribed(base.with_queued_and_free_slot), base.dispatch),
    Operation("webhooks: reaper pass", subscribed(base.with_stale_run_and_queue), base.reaper_pass),
    Operation("webhooks: create workflow", subscribed(base.conversation), create_workflow),
    Operation("webhooks: update workflow", subscribed(base.conversation, 2), update_workflow),
    Operation("webhooks: create active version", subscribed(base.conversation), create_version),
    Operation("webhooks: delete workflow", subscribed(base.conversation), delete_workflow),
    Operation("webhooks: clone workflow", subscribed(base.conversation), clone_workflow),
    Operation("webhooks: import bundle", subscribed(base.conversation), import_bundle),
    Operation("webhooks: update version config", subscribed(base.conversation, 2), update_version_config),
    Operation("webhooks: rename version", subscribed(with_second_version), rename_version("Spring")),
    Operation("webhooks: delete version", subscribed(with_second_version), delete_version),
    Operation("webhooks: delete workflow with a live run", subscribed(base.with_waiting), delete_workflow),
    Operation("webhooks: delete live run", subscribed(base.with_waiting), delete_run),
    # The event insert fails and the request goes on: the delete must not take the marker with it.
    Operation(
        "webhooks: delete workflow, first event insert failing",
        subscribed(base.conversation, failing_insert=True),
        delete_workflow,
    ),
    Operation(
        "webhooks: delete live run, first event insert failing",
        subscribed(base.with_waiting, failing_insert=True),
        delete_run,
    ),
    # The overlap policy's cancellation is the user stop's write and finalize (crashed at every step
    # above); run once, it shows the service-made cancellation is heard like the user's.
    Operation(
        "webhooks: fire recurring (cancel_previous, previous active)",
        subscribed(overlap.with_active("cancel_previous")),
        overlap.fire(14),
        crash_points=False,
    ),
)

# Two writers of one version, and a version write beside a workflow write: every change one revision.
PAIRS: tuple[Pair, ...] = (
    Pair(
        "webhooks: rename x config update (one version)",
        subscribed(with_second_version),
        rename_version("Spring"),
        lambda world, context: update_version_config(world, context, 1),
        max_preemptions=2,
    ),
    Pair(
        "webhooks: rename version x update workflow",
        subscribed(with_second_version),
        rename_version("Spring"),
        update_workflow,
        max_preemptions=2,
    ),
)

CHECKS = (check_webhook_events,)
