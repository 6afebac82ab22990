"""Subscriptions, events and a delivery service over the in-memory webhook ports."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from tests.fakes.clock import T0, ManualClock
from tests.fakes.http import FakeHttp
from tests.fakes.metrics import InMemoryMetrics
from tests.fakes.webhooks import InMemoryWebhookDeliveryQueue, InMemoryWebhookEvents, InMemoryWebhookSubscriptions
from workflow_service.ports.http import OutboundResponse
from workflow_service.ports.webhooks import (
    SigningSecret,
    WebhookAction,
    WebhookEvent,
    WebhookSubscription,
    event_id_for,
)
from workflow_service.webhooks.delivery import WebhookDelivery

URL = "https://hooks.example.com/in"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def a_subscription(**fields) -> WebhookSubscription:
    values = {
        "id": "a" * 24,
        "team_id": "team-1",
        "name": "CRM",
        "url": URL,
        "actions": frozenset(WebhookAction),
        "enabled": True,
        "bearer_token": None,
        "signing_secrets": (SigningSecret(SECRET, created_at=T0),),
        "timeout_seconds": 7,
        "max_retries": 3,
        "retry_backoff_seconds": 10,
    }
    values.update(fields)
    return WebhookSubscription(**values)


def an_event(subscription: WebhookSubscription, dedupe_key: str = "workflow_run_completed:run-1:completed"):
    return WebhookEvent(
        event_id=event_id_for(subscription.id, dedupe_key),
        subscription_id=subscription.id,
        team_id=subscription.team_id,
        action=WebhookAction.WORKFLOW_RUN_COMPLETED,
        workflow_id="b" * 24,
        workflow_name="Intake",
        workflow_run_id="c" * 24,
        workflow_run_status="completed",
        payload={"action": "workflow_run_completed", "data": {"status": "completed", "name": "Größe"}},
        dedupe_key=dedupe_key,
        created_at=T0,
    )


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> OutboundResponse:
    return OutboundResponse(status=status, headers=headers or {}, body=body, elapsed_ms=3.4)


@dataclass
class World:
    """A delivery service and everything it talks to; ``answers`` are the receiver's, in order."""

    subscription: WebhookSubscription = field(default_factory=a_subscription)
    clock: ManualClock = field(default_factory=ManualClock)
    subscriptions: InMemoryWebhookSubscriptions = field(default_factory=InMemoryWebhookSubscriptions)
    events: InMemoryWebhookEvents = field(default_factory=InMemoryWebhookEvents)
    queue: InMemoryWebhookDeliveryQueue = field(default_factory=InMemoryWebhookDeliveryQueue)
    http: FakeHttp = field(default_factory=FakeHttp)
    metrics: InMemoryMetrics = field(default_factory=InMemoryMetrics)
    answers: list[object] = field(default_factory=list)
    jitter: float = 0.0

    def __post_init__(self) -> None:
        self.subscriptions.add(self.subscription)
        self.http.route("POST", self.subscription.url, self._next_answer)
        self.delivery = WebhookDelivery(
            self.events,
            self.subscriptions,
            self.http,
            self.queue,
            self.clock,
            metrics=self.metrics,
            jitter=lambda: self.jitter,
        )

    def _next_answer(self, request):
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer

    def emit(self, dedupe_key: str = "workflow_run_completed:run-1:completed") -> WebhookEvent:
        event = an_event(self.subscription, dedupe_key)
        self.events.insert_if_absent(event)
        return event
