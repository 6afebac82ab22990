"""In-memory ``ports.Metrics``: what services emitted, for tests to assert on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EmittedMetric:
    name: str
    value: float
    unit: str
    dimensions: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


class InMemoryMetrics:
    """Implements ports.Metrics by keeping every value; ``flush`` counts flushes (the handler wrapper's)."""

    def __init__(self) -> None:
        self.emitted: list[EmittedMetric] = []
        self.flushes = 0

    def emit(
        self,
        name: str,
        value: float,
        unit: str = "Count",
        *,
        dimensions: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.emitted.append(EmittedMetric(name, value, unit, dict(dimensions or {}), dict(metadata or {})))

    def flush(self) -> None:
        self.flushes += 1

    def named(self, name: str) -> list[EmittedMetric]:
        """Every value of metric ``name``, in emission order."""
        return [metric for metric in self.emitted if metric.name == name]
