"""In-memory concurrency ports: the lease store, limits, admission, the work queue, the dispatcher and the
queued-team finder.

``InMemoryLeaseStore`` implements the whole ``ports.LeaseStore``; tests/contract/mongo/test_lease_store.py
runs the same assertions over it and ``MongoLeaseStore``, so services tested over it see what Mongo does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.concurrency import HoldResult, Lease, LeaseScope, lease_key, new_lease_token
from workflow_service.ports import SlotDecision


@dataclass
class _LeaseDocument:
    scope: LeaseScope
    team_id: str
    workflow_id: str | None
    holders: list[str] = field(default_factory=list)  # acquisition order, like the stored array
    since: dict[str, datetime] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def lease(self, key: str) -> Lease:
        holders = {run_id: self.since.get(run_id) for run_id in self.holders}
        tokens = {run_id: self.tokens[run_id] for run_id in self.holders if run_id in self.tokens}
        return Lease(
            key=key,
            scope=self.scope,
            team_id=self.team_id,
            workflow_id=self.workflow_id,
            holders=holders,
            tokens=tokens,
        )

    def carries(self, run_id: str, token: str | None) -> bool:
        """Whether ``run_id``'s entry was written by the acquisition ``token`` names (None: none)."""
        return run_id in self.holders and self.tokens.get(run_id) == token

    def remove(self, run_id: str) -> None:
        self.holders.remove(run_id)
        self.since.pop(run_id, None)
        self.tokens.pop(run_id, None)


def _millisecond(value: datetime) -> datetime:
    # As stored in BSON: a later equality check (drop_holder) compares milliseconds.
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class InMemoryLeaseStore:
    """``ports.LeaseStore`` over a dict of lease documents. ``calls`` records ``("hold" | "release", key)``."""

    def __init__(self) -> None:
        self._documents: dict[str, _LeaseDocument] = {}
        self.calls: list[tuple[str, str]] = []

    def seed(self, lease: Lease) -> None:
        """Store ``lease`` as it is (set-up only: e.g. a holder without an acquisition time or token)."""
        document = _LeaseDocument(lease.scope, lease.team_id, lease.workflow_id, list(lease.holders))
        document.since = {run_id: at for run_id, at in lease.holders.items() if at is not None}
        document.tokens = dict(lease.tokens)
        self._documents[lease.key] = document

    def try_hold(
        self,
        scope: LeaseScope,
        owner_id: str,
        team_id: str,
        run_id: str,
        limit: int,
        at: datetime,
        token: str | None = None,
    ) -> HoldResult:
        _check_run_id(run_id)
        key = lease_key(scope, owner_id)
        self.calls.append(("hold", key))
        document = self._documents.get(key)
        if document is None:
            workflow_id = owner_id if scope is LeaseScope.WORKFLOW else None
            document = self._documents[key] = _LeaseDocument(scope, team_id, workflow_id)
        regranted = run_id in document.holders
        if not regranted and 0 < limit <= len(document.holders):
            return HoldResult(granted=False, holders=tuple(document.holders))
        if not regranted:
            document.holders.append(run_id)
        document.since[run_id] = _millisecond(at)
        document.tokens[run_id] = token = token or new_lease_token()
        return HoldResult(granted=True, token=token, regranted=regranted)

    def try_hold_team_and_workflow(
        self, team_id: str, workflow_id: str, run_id: str, team_limit: int, workflow_limit: int, at: datetime
    ) -> tuple[HoldResult, HoldResult | None]:
        self.calls.append(("batch", f"team:{team_id}+workflow:{workflow_id}"))
        token = new_lease_token()
        team = self.try_hold(LeaseScope.TEAM, team_id, team_id, run_id, team_limit, at, token)
        if not team.granted:
            return team, None
        return team, self.try_hold(LeaseScope.WORKFLOW, workflow_id, team_id, run_id, workflow_limit, at, token)

    def get(self, scope: LeaseScope, owner_id: str) -> Lease | None:
        key = lease_key(scope, owner_id)
        document = self._documents.get(key)
        return None if document is None else document.lease(key)

    def get_many(self, keys: list[str]) -> dict[str, Lease]:
        return {key: self._documents[key].lease(key) for key in sorted(set(keys)) if key in self._documents}

    def release(self, run_id: str, token: str | None, leases: list[tuple[LeaseScope, str]]) -> int:
        _check_run_id(run_id)
        removed = 0
        for scope, owner_id in leases:
            key = lease_key(scope, owner_id)
            self.calls.append(("release", key))
            document = self._documents.get(key)
            if document is not None and document.carries(run_id, token):
                document.remove(run_id)
                removed += 1
        return removed

    def for_team(self, team_id: str) -> list[Lease]:
        return [doc.lease(key) for key, doc in sorted(self._documents.items()) if doc.team_id == team_id]

    def held(self, after_key: str | None, limit: int) -> list[Lease]:
        keys = [key for key, doc in sorted(self._documents.items()) if doc.holders and (after_key or "") < key]
        return [self._documents[key].lease(key) for key in keys[:limit]]

    def drop_holder(self, key: str, run_id: str, token: str | None) -> bool:
        _check_run_id(run_id)
        document = self._documents.get(key)
        if document is None or not document.carries(run_id, token):
            return False
        document.remove(run_id)
        return True

    def retoken(self, key: str, run_id: str, seen: str | None, token: str | None) -> bool:
        _check_run_id(run_id)
        document = self._documents.get(key)
        if document is None or not document.carries(run_id, seen):
            return False
        if token is None:
            document.tokens.pop(run_id, None)
        else:
            document.tokens[run_id] = token
        return True


def _check_run_id(run_id: str) -> None:
    if not run_id or "." in run_id or run_id.startswith("$"):
        raise ValueError(f"invalid run id for a lease: {run_id!r}")


class FakeConcurrencyLimits:
    """``ports.ConcurrencyLimits``: one team limit (None: unknown team) and each workflow's cap."""

    def __init__(self, team: int | None, workflows: dict[str, int]) -> None:
        self.team, self.workflows = team, workflows
        self.workflow_reads = 0

    def team_limit(self, team_id: str) -> int | None:
        return self.team

    def workflow_limits(self, team_id: str, workflow_ids: list[str]) -> dict[str, int]:
        self.workflow_reads += 1
        return {w: self.workflows[w] for w in workflow_ids if w in self.workflows}


class ScriptedAdmission:
    """``ports.Admission`` granting from a count of free team slots and per-workflow slots (workflows not
    in ``workflow_slots`` are uncapped); records the runs it was asked about and released."""

    def __init__(self, team_slots: int, workflow_slots: dict[str, int] | None = None) -> None:
        self.team_slots = team_slots
        self.workflow_slots = dict(workflow_slots or {})
        self.asked: list[str] = []
        self.released: list[str] = []
        self.released_tokens: list[str | None] = []
        self.realigned: list[tuple[str, str, str | None]] = []

    def try_acquire(self, team_id: str, workflow_id: str, run_id: str) -> SlotDecision:
        self.asked.append(run_id)
        token = f"token-{len(self.asked)}"
        if self.team_slots == 0:
            return SlotDecision(granted=False, scope="team", limit=1)
        if self.workflow_slots.get(workflow_id, 1) == 0:
            return SlotDecision(granted=False, scope="workflow", limit=1)
        self.team_slots -= 1
        if workflow_id in self.workflow_slots:
            self.workflow_slots[workflow_id] -= 1
        return SlotDecision(granted=True, token=token)

    def release(self, team_id: str, workflow_id: str, run_id: str, token: str | None) -> None:
        self.released.append(run_id)
        self.released_tokens.append(token)

    def realign(self, team_id: str, workflow_id: str, run_id: str, seen: str, token: str | None) -> None:
        self.realigned.append((run_id, seen, token))


class RecordingWorkQueue:
    """``ports.WorkQueue`` recording the run ids enqueued; ``failing`` makes it raise like an SQS outage."""

    def __init__(self, *, failing: bool = False) -> None:
        self.enqueued: list[str] = []
        self.failing = failing

    def enqueue_run(self, run_id: str) -> None:
        if self.failing:
            raise UpstreamUnavailable("SQS is down")
        self.enqueued.append(run_id)


class RecordingDispatcher:
    """``ports.RunDispatcher`` that admits nothing and records the teams it was asked to dispatch."""

    def __init__(self) -> None:
        self.teams: list[str] = []

    def dispatch(self, team_id: str, *, run_inline: str | None = None) -> list[str]:
        self.teams.append(team_id)
        return []


class FixedQueuedTeams:
    """``ports.QueuedTeamFinder`` answering a fixed list of teams."""

    def __init__(self, teams: list[str] = ()) -> None:
        self.teams = list(teams)

    def queued_team_ids(self, limit: int) -> list[str]:
        return self.teams[:limit]
