"""Every operation and racing pair the simulation runs, gathered from one module per area.

An area (schedules, runs, webhooks, ...) keeps its set-ups and requests in its own module and adds its
``OPERATIONS`` and ``PAIRS`` here, so that areas grow without editing each other's files. An area's own
invariants go in ``CHECKS``: each runs on every settled world besides the shared ones.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.simulation import (
    pairs,
    scenarios,
    scenarios_dst,
    scenarios_history,
    scenarios_idempotency,
    scenarios_overlap,
    scenarios_sdk,
    scenarios_webhook_delivery,
    scenarios_webhooks,
)
from tests.simulation.invariants import Violation
from tests.simulation.pairs import Pair
from tests.simulation.scenarios import Operation
from tests.simulation.world import World

OPERATIONS: tuple[Operation, ...] = (*scenarios.OPERATIONS,)
OPERATIONS += scenarios_webhook_delivery.OPERATIONS
PAIRS: tuple[Pair, ...] = (*pairs.PAIRS,)
CHECKS: tuple[Callable[[World], list[Violation]], ...] = ()

OPERATIONS += scenarios_overlap.OPERATIONS
PAIRS += scenarios_overlap.PAIRS
CHECKS += scenarios_overlap.CHECKS

OPERATIONS += scenarios_webhooks.OPERATIONS
CHECKS += scenarios_webhooks.CHECKS
PAIRS += scenarios_webhooks.PAIRS

OPERATIONS += scenarios_sdk.OPERATIONS
CHECKS += scenarios_sdk.CHECKS

OPERATIONS += scenarios_dst.OPERATIONS
PAIRS += scenarios_dst.PAIRS

OPERATIONS += scenarios_history.OPERATIONS
CHECKS += scenarios_history.CHECKS

OPERATIONS += scenarios_idempotency.OPERATIONS
