"""Operational metrics: what services count and time, emitted without knowing where they go.

Deployed, the adapter writes CloudWatch embedded metric format (EMF) records to stdout, flushed once
per invocation by the handler wrapper; tests use ``tests.fakes.metrics.InMemoryMetrics``.
Dimensions are low-cardinality labels (trigger type, status, scope, kind), never ids: an id per
dimension value would make one CloudWatch metric per run. Ids go in ``metadata``, which EMF keeps
on the log record (searchable in Logs Insights) without making it a dimension.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

MetricUnit = Literal["Count", "Milliseconds"]


class Metrics(Protocol):
    def emit(
        self,
        name: str,
        value: float,
        unit: MetricUnit = "Count",
        *,
        dimensions: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one value of metric ``name``; it is published when the invocation ends."""
        ...


class DiscardedMetrics:
    """Implements Metrics by dropping every value: the default of services built without a sink."""

    def emit(
        self,
        name: str,
        value: float,
        unit: MetricUnit = "Count",
        *,
        dimensions: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Drop the value."""


DISCARDED_METRICS = DiscardedMetrics()
