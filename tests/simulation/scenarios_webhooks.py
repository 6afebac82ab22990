"""Webhook emission in the simulation: the run and workflow operations that cause events, for a team
with one or two subscriptions to every action, crashed at every step (invariant I7, invariants_webhooks).

The world gets an in-memory subscription reader (every team subscribed) and delivery queue
(tests/fakes/webhooks) installed where the other webhook parts plug in (``services().webhooks``); the
events are written by the service's own Mongo event store, so its inserts are store steps, and the
queue's sends are steps too: a crash can fall between the causing write, each event and the marker's
clearing.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue, InMemoryWebhookSubscriptions
from tests.simulation import scenarios as base
from tests.simulation.interception import InterceptedPort
from tests.simulation.invariants_webhooks import WebhookWorld, check_webhook_events, install
from tests.simulation.scenarios import Context, Operation
from tests.simulation.world import World
from workflow_service.ports.webhooks import WebhookAction, WebhookSubscription

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


def subscribed(setup: Callable[[World], Context], count: int = 1) -> Callable[[World], Context]:
    """``setup`` in a world whose team has ``count`` subscriptions to every action (installed before
    anything is built). Two only where a crash between two subscriptions' events is worth its cost."""

    def prepare(world: World) -> Context:
        subscriptions = EveryTeamSubscriptions(count)
        world.services.webhooks.__dict__.update(
            subscriptions=subscriptions,
            delivery_queue=InterceptedPort(
                InMemoryWebhookDeliveryQueue(), world.interceptor, "webhooks", frozenset({"send"})
            ),
        )
        context = setup(world)
        install(world, WebhookWorld(context.team.caller.team_id, subscriptions, [context.workflow_id]))
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
)

CHECKS = (check_webhook_events,)
