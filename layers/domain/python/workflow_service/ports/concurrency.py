"""Concurrency: slots (admission and leases), limits, the work queue and the dispatcher of queued runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from workflow_service.models.concurrency import HoldResult, Lease, LeaseScope
    from workflow_service.models.runs import TerminationSource, WorkflowRunsModel


class SlotDecision(NamedTuple):
    granted: bool
    scope: str = ""  # "team" or "workflow" when refused
    limit: int = 0
    holders: tuple[str, ...] = ()
    token: str = ""  # when granted: the token both leases of this acquisition carry
    # When refused by the workflow's cap: a team slot was held for a moment and given back, and a
    # dispatch that ran meanwhile may have found the team full, so the caller dispatches the team.
    gave_back_team_slot: bool = False


class Admission(Protocol):
    """Concurrency slots (DESIGN.md section 5). Acquire is idempotent per run id (a re-grant takes no
    second slot but writes a fresh token); release removes only the grant whose token it names."""

    def try_acquire(
        self, team_id: str, workflow_id: str, run_id: str, *, workflow_limit: int | None = None
    ) -> SlotDecision:
        """Take the run's team slot, then its workflow slot. ``workflow_limit`` is the workflow's cap when
        the caller has just read the workflow (0 = no cap); None reads it. A grant carries the fresh
        token written into both leases, which the run records in its status write."""
        ...

    def release(self, team_id: str, workflow_id: str, run_id: str, token: str | None) -> None:
        """Give back the run's slots if they still carry ``token`` (the one the releaser read from the
        run; None matches a grant recorded without one): a later acquisition's slot is never removed."""
        ...

    def realign(self, team_id: str, workflow_id: str, run_id: str, seen: str, token: str | None) -> None:
        """Where the run's entries carry ``seen`` (a grant that lost the race to start the run and
        overwrote the token), put back ``token``, the one the run recorded: its own release then matches."""
        ...


class SlotRestorer(Protocol):
    """Gives a slot-holding run whose lease entries went missing its slots back (the reaper's repair)."""

    def restore(self, team_id: str, workflow_id: str, run_id: str, token: str | None) -> SlotDecision:
        """Hold the run's team and workflow slots with ``token`` under the limits (never above one);
        refused, with nothing left behind, when a lease is full."""
        ...


class WorkQueue(Protocol):
    """The internal queue of admitted runs whose first turn a worker executes."""

    def enqueue_run(self, run_id: str) -> None: ...


class RunDispatcher(Protocol):
    """Starts queued runs of a team, FIFO, while slots are free (respecting workflow limits)."""

    def dispatch(self, team_id: str, *, run_inline: str | None = None) -> list[str]:
        """Admit what fits; returns the admitted run ids.

        The first turn of each admitted run is enqueued for a worker, except ``run_inline``, whose
        caller executes it itself (an interactive start that got a slot at once).
        """
        ...


class LeaseStore(Protocol):
    """Lease documents, one per team and per workflow (collection ``concurrency_leases``).

    Every write is a single-document conditional update, so concurrent writers need no transaction.
    """

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
        """Add ``run_id`` to the lease's holders if it is one already or fewer than ``limit`` (0 = no
        cap) hold it, writing ``token`` (a fresh one when None) as its acquisition token in the same
        update; granted with that token if ``run_id`` holds a slot afterwards, else the holders that
        fill it."""
        ...

    def try_hold_team_and_workflow(
        self, team_id: str, workflow_id: str, run_id: str, team_limit: int, workflow_limit: int, at: datetime
    ) -> tuple[HoldResult, HoldResult | None]:
        """``try_hold`` on the team lease, then (only if granted) on the workflow lease, with one fresh
        token for both, in one round trip where the store allows; the workflow result is None when the
        team refused."""
        ...

    def get(self, scope: LeaseScope, owner_id: str) -> Lease | None: ...

    def get_many(self, keys: list[str]) -> dict[str, Lease]:
        """The existing leases among ``keys``, by key (one read)."""
        ...

    def release(self, run_id: str, token: str | None, leases: list[tuple[LeaseScope, str]]) -> int:
        """Remove ``run_id`` from each listed lease whose entry still carries ``token`` (None matches an
        entry without one); returns how many leases it was removed from (0: a no-op, e.g. a newer
        acquisition took the slot since)."""
        ...

    def for_team(self, team_id: str) -> list[Lease]:
        """The team's lease and its workflows' leases."""
        ...

    def held(self, after_key: str | None, limit: int) -> list[Lease]:
        """Leases with at least one holder, by key, starting after ``after_key`` (paging)."""
        ...

    def drop_holder(self, key: str, run_id: str, token: str | None) -> bool:
        """Remove ``run_id`` only if it still holds the slot of the acquisition ``token`` names (so a run
        that acquired again meanwhile keeps its slot); True if removed."""
        ...

    def retoken(self, key: str, run_id: str, seen: str | None, token: str | None) -> bool:
        """Replace the acquisition token ``seen`` of holder ``run_id`` by ``token`` (the one its run
        recorded), keeping the slot; True if the entry still carried ``seen``."""
        ...


class ConcurrencyLimits(Protocol):
    """The configured limits: the team's licence and each workflow's own cap (0 = no cap)."""

    def team_limit(self, team_id: str) -> int | None:
        """None if the team is unknown."""
        ...

    def workflow_limits(self, team_id: str, workflow_ids: list[str]) -> dict[str, int]:
        """The cap of each existing workflow of the team (missing ids are absent)."""
        ...


class RunTerminator(Protocol):
    """Fails runs on behalf of the service itself (implemented by runs.lifecycle)."""

    def fail_run(
        self,
        run_id: str,
        reason: str,
        source: TerminationSource,
        from_statuses: list[str],
        *,
        team_id: str,
        deadline_field: str | None = None,
        deadline_before: datetime | None = None,
    ) -> WorkflowRunsModel | None:
        """Fail the run of ``team_id`` (its owner, whose subscriptions the terminal write's outbox marker
        follows) if it is still in ``from_statuses`` and, with ``deadline_field``, still past that
        deadline (then release, notify, dispatch); None otherwise."""
        ...


class QueuedTeamFinder(Protocol):
    """Finds teams with queued runs, so the reaper can start runs a lost dispatch left waiting."""

    def queued_team_ids(self, limit: int) -> list[str]:
        """Up to ``limit`` distinct team ids having queued runs (index-backed); when more teams have
        some, a varying subset, so that successive calls reach every team."""
        ...
