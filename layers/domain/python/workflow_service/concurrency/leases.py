"""Admission: concurrency slots held as leases (DESIGN.md section 5).

A run needs a slot of its team and, when its workflow has a cap, a slot of its workflow. The team
slot is taken first, then the workflow slot; if the workflow is full the team slot is given back.
Each step is one single-document conditional write (see adapters/mongo/leases.py for why that cannot
over-admit); a crash between the two leaves a surplus team holder that the reaper reconciles.
When the caller passes the workflow's cap along (it has just read the workflow), no limit of the
workflow is read again and both holds go to the store together (one round trip on MongoDB), in
the same order and with the same conditions. The team limit is read on every acquisition, never
cached: a lowered licence applies to the very next admission.

Every acquisition writes one fresh token into both leases; the run records it in the status write
that makes it slot-holding, and every release names the token it read from the run, so a late
release (a pause overlapping a resume, a dispatcher that lost a start) never removes a slot that a
later acquisition took.
"""

from __future__ import annotations

import logging

from workflow_service.models.concurrency import LeaseScope, lease_key, new_lease_token
from workflow_service.ports.clock import Clock
from workflow_service.ports.concurrency import ConcurrencyLimits, LeaseStore, SlotDecision
from workflow_service.ports.metrics import DISCARDED_METRICS, Metrics

logger = logging.getLogger(__name__)


class LeaseAdmission:
    """Implements ports.Admission. Acquire is idempotent per run id; release is per acquisition token."""

    def __init__(
        self,
        leases: LeaseStore,
        limits: ConcurrencyLimits,
        clock: Clock,
        *,
        default_team_limit: int,
        metrics: Metrics = DISCARDED_METRICS,
    ) -> None:
        self._leases = leases
        self._metrics = metrics
        self._limits = limits
        self._clock = clock
        self._default_team_limit = default_team_limit

    def team_limit(self, team_id: str) -> int:
        """The team's licence; the configured default for a team without a document."""
        limit = self._limits.team_limit(team_id)
        return self._default_team_limit if limit is None else max(limit, 1)

    def workflow_limit(self, team_id: str, workflow_id: str) -> int:
        """The workflow's cap; 0 (no cap) for a workflow that no longer exists."""
        return self._limits.workflow_limits(team_id, [workflow_id]).get(workflow_id, 0)

    def try_acquire(
        self, team_id: str, workflow_id: str, run_id: str, *, workflow_limit: int | None = None
    ) -> SlotDecision:
        now = self._clock.now()
        team_limit = self.team_limit(team_id)
        if workflow_limit is not None:
            # Both limits known before the first write: the two holds go to the store together.
            team, workflow = self._leases.try_hold_team_and_workflow(
                team_id, workflow_id, run_id, team_limit, workflow_limit, now
            )
            if workflow is None:
                return self._refused(LeaseScope.TEAM, team_id, team_limit, team.holders)
        else:
            token = new_lease_token()
            team = self._leases.try_hold(LeaseScope.TEAM, team_id, team_id, run_id, team_limit, now, token)
            if not team.granted:
                return self._refused(LeaseScope.TEAM, team_id, team_limit, team.holders)
            # Read only once the team granted: a full team costs no workflow read.
            workflow_limit = self.workflow_limit(team_id, workflow_id)
            # With no cap the holder is still recorded, so the overview shows what each workflow holds.
            workflow = self._leases.try_hold(
                LeaseScope.WORKFLOW, workflow_id, team_id, run_id, workflow_limit, now, token
            )
        if not workflow.granted:
            if team.regranted:
                # The run held the team slot already: another acquisition of it (a concurrent dispatcher)
                # may be about to start it on that entry, so it stays; a surplus is the reaper's to drop.
                return self._refused(LeaseScope.WORKFLOW, workflow_id, workflow_limit, workflow.holders)
            self._leases.release(run_id, team.token, [(LeaseScope.TEAM, team_id)])
            refused = self._refused(LeaseScope.WORKFLOW, workflow_id, workflow_limit, workflow.holders)
            return refused._replace(gave_back_team_slot=True)
        return SlotDecision(granted=True, token=team.token)

    def release(self, team_id: str, workflow_id: str, run_id: str, token: str | None) -> None:
        self._leases.release(run_id, token, [(LeaseScope.TEAM, team_id), (LeaseScope.WORKFLOW, workflow_id)])

    def realign(self, team_id: str, workflow_id: str, run_id: str, seen: str, token: str | None) -> None:
        for scope, owner_id in ((LeaseScope.TEAM, team_id), (LeaseScope.WORKFLOW, workflow_id)):
            self._leases.retoken(lease_key(scope, owner_id), run_id, seen, token)

    def restore(self, team_id: str, workflow_id: str, run_id: str, token: str | None) -> SlotDecision:
        """Give a slot-holding run whose lease entries are missing its slots back, with the token it
        recorded, under the same conditional limit filter as an acquisition: never above a limit. A
        refusal leaves nothing behind (a team entry it added is taken back)."""
        now = self._clock.now()
        token = token or new_lease_token()
        team_limit = self.team_limit(team_id)
        team = self._leases.try_hold(LeaseScope.TEAM, team_id, team_id, run_id, team_limit, now, token)
        if not team.granted:
            return self._refused(LeaseScope.TEAM, team_id, team_limit, team.holders)
        workflow_limit = self.workflow_limit(team_id, workflow_id)
        workflow = self._leases.try_hold(LeaseScope.WORKFLOW, workflow_id, team_id, run_id, workflow_limit, now, token)
        if not workflow.granted:
            if not team.regranted:
                self._leases.release(run_id, token, [(LeaseScope.TEAM, team_id)])
            return self._refused(LeaseScope.WORKFLOW, workflow_id, workflow_limit, workflow.holders)
        return SlotDecision(granted=True, token=token)

    def _refused(self, scope: LeaseScope, owner_id: str, limit: int, holders: tuple[str, ...]) -> SlotDecision:
        self._metrics.emit("AdmissionRefused", 1, dimensions={"scope": scope.value})
        logger.info("no %s slot for %s: %d of %d held", scope.value, owner_id, len(holders), limit)
        return SlotDecision(granted=False, scope=scope.value, limit=limit, holders=holders)
