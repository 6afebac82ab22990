"""Every operation and racing pair the simulation runs, gathered from one module per area.

An area (schedules, runs, webhooks, ...) keeps its set-ups and requests in its own module and adds its
``OPERATIONS`` and ``PAIRS`` here, so that areas grow without editing each other's files.
"""

from __future__ import annotations

from tests.simulation import pairs, scenarios, scenarios_dst
from tests.simulation.pairs import Pair
from tests.simulation.scenarios import Operation

OPERATIONS: tuple[Operation, ...] = (*scenarios.OPERATIONS, *scenarios_dst.OPERATIONS)
PAIRS: tuple[Pair, ...] = (*pairs.PAIRS, *scenarios_dst.PAIRS)
