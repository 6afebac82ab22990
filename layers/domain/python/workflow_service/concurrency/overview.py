"""GET /workflows/v1/concurrency: the team's limit, who holds its slots since when, and what waits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workflow_service.models.concurrency import Lease, LeaseScope
from workflow_service.models.concurrency_overview import ConcurrencyOverview, SlotHolder, WorkflowConcurrency

if TYPE_CHECKING:
    from workflow_service.ports.concurrency import ConcurrencyLimits, LeaseStore
    from workflow_service.ports.runs import RunRepository


def _holders(lease: Lease | None) -> list[SlotHolder]:
    # Stored order is acquisition order, which is the order a reader expects.
    return [SlotHolder(run_id=run_id, since=since) for run_id, since in lease.holders.items()] if lease else []


class ConcurrencyOverviewService:
    """Reads the leases, the limits and the queue lengths of one team (four reads, whatever its size)."""

    def __init__(
        self, leases: LeaseStore, limits: ConcurrencyLimits, runs: RunRepository, *, default_team_limit: int
    ) -> None:
        self._leases = leases
        self._limits = limits
        self._runs = runs
        self._default_team_limit = default_team_limit

    def overview(self, team_id: str) -> ConcurrencyOverview:
        """The team's slots and queue, and the same per workflow for workflows holding slots or queuing."""
        team_limit = self._limits.team_limit(team_id)
        team_limit = self._default_team_limit if team_limit is None else team_limit
        leases = self._leases.for_team(team_id)
        queue_lengths = self._runs.queue_lengths(team_id)
        team_lease = next((lease for lease in leases if lease.scope is LeaseScope.TEAM), None)
        workflow_leases = {
            lease.workflow_id: lease
            for lease in leases
            if lease.scope is LeaseScope.WORKFLOW and lease.workflow_id and lease.holders
        }
        workflow_ids = sorted(set(workflow_leases) | {key for key, count in queue_lengths.items() if count})
        caps = self._limits.workflow_limits(team_id, workflow_ids) if workflow_ids else {}
        holders = _holders(team_lease)
        return ConcurrencyOverview(
            team_id=team_id,
            max_concurrent_runs=team_limit,
            holders=holders,
            available_slots=max(team_limit - len(holders), 0),
            queue_length=sum(queue_lengths.values()),
            workflows=[
                WorkflowConcurrency(
                    workflow_id=workflow_id,
                    max_concurrent_runs=caps.get(workflow_id, 0),
                    holders=_holders(workflow_leases.get(workflow_id)),
                    queue_length=queue_lengths.get(workflow_id, 0),
                )
                for workflow_id in workflow_ids
            ],
        )
