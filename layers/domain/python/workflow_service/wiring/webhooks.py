"""Outbound workflow webhooks: subscriptions and their API, the event outbox (emission), and delivery.

Three parts, each in its own block below, so that each grows without touching the others:
subscriptions (storage, the subscription API, the event and attempt log), emission (the outbox
writer the workflow and run paths call), delivery (the event store, the delivery queue, the
delivery function's service).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow_service.wiring import Services


class WebhooksContainer:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._core = services.core

    # -- subscriptions: storage, the subscription API, the event and attempt log -------------------

    # -- emission: the outbox writer ---------------------------------------------------------------

    # -- delivery: the event store, the delivery queue and the delivery service --------------------
