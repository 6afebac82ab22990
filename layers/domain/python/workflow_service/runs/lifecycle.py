"""How runs stop, pause, fail and end, and what every end is followed by.

A run that leaves the slot-holding statuses releases its slot (``finalize``); one that ends also
tells the run-finished listeners (schedules record the outcome); then the team's queue is
dispatched, so a freed slot is taken by the oldest queued run. Every status change is one
conditional write checked against ``runs.transitions``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from workflow_service.errors import IllegalTransition, NotFound
from workflow_service.models.runs import SLOT_HOLDING_STATUSES, TERMINAL_STATUSES, RunStatus, TerminationSource
from workflow_service.models.webhook_actions import WebhookAction
from workflow_service.runs.shared import DEADLINES, refusal
from workflow_service.runs.transitions import Transition, sources
from workflow_service.webhooks.outbox import RunOutbox

_COMPLETED = WebhookAction.WORKFLOW_RUN_COMPLETED

if TYPE_CHECKING:
    from workflow_service.models.common import Caller
    from workflow_service.models.runs import WorkflowRunsModel
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.concurrency import Admission, RunDispatcher
    from workflow_service.ports.dedupe import DedupeRecords, Removals
    from workflow_service.ports.runs import RunFinishedListener, RunRepository
    from workflow_service.runs.queries import RunQueries

logger = logging.getLogger(__name__)

# ReaperSettings.pause_ttl_seconds' default, for callers that build a lifecycle without settings.
DEFAULT_PAUSE_TTL = timedelta(days=7)


class RunLifecycle:
    """Stops, pauses, fails and deletes runs; a ``RunTerminator`` for the reaper and a
    ``WorkflowDeletionListener`` for deleted workflows."""

    def __init__(
        self,
        runs: RunRepository,
        queries: RunQueries,
        admission: Admission,
        dispatcher: RunDispatcher,
        clock: Clock,
        listeners: Callable[[], Sequence[RunFinishedListener]] = tuple,
        *,
        pause_ttl: timedelta = DEFAULT_PAUSE_TTL,
        webhooks: RunOutbox | None = None,
        dedupe: DedupeRecords | None = None,
        removals: Removals | None = None,
    ) -> None:
        """``listeners`` is called when a run first ends: read-only handlers never build them.
        ``pause_ttl``: how long a paused run may wait to be resumed (then the reaper fails it).
        ``webhooks``: the outbox of ``workflow_run_completed`` (marked by terminal writes, emitted by finalize).
        ``dedupe``: the records of the deliveries that made runs, settled when a run is deleted.
        ``removals``: where a deleted run is remembered, for the retried keyed start that made it."""
        self._webhooks = webhooks or RunOutbox(None, None, clock)
        self._runs = runs
        self._queries = queries
        self._admission = admission
        self._dispatcher = dispatcher
        self._clock = clock
        self._listeners = listeners
        self._pause_ttl = pause_ttl
        self._dedupe = dedupe
        self._removals = removals

    def stop(
        self, team_id: str, run_id: str, *, where: dict[str, Any] | None = None, command_id: str | None = None
    ) -> WorkflowRunsModel:
        """The user's ``stop``: the run is cancelled (404, 409 when it cannot be). ``where`` adds
        conditions on the run (e.g. its workflow); ``command_id`` (an Idempotency-Key's reserved id) is
        recorded by the same write, as a turn's commit records it, so a retry can tell it was applied."""
        stopped = self._cancel(
            team_id, run_id, "stopped by the user", TerminationSource.USER_STOP.value, where, _recorded(command_id)
        )
        if stopped is None:
            raise refusal(self._runs, team_id, run_id, Transition.STOP, where)
        self.finalize(stopped)
        return stopped

    def cancel_run(self, team_id: str, run_id: str, reason: str, source: TerminationSource) -> WorkflowRunsModel | None:
        """Cancel a live run of ``team_id`` for the service itself (e.g. a schedule's overlap policy), then
        finalize it; None if it had ended already. The team is the run's owner: its subscriptions decide
        whether the cancelling write carries the ``workflow_run_completed`` marker."""
        stopped = self._cancel(team_id, run_id, reason, source.value)
        if stopped is not None:
            self.finalize(stopped)
        return stopped

    def pause(
        self, team_id: str, run_id: str, *, where: dict[str, Any] | None = None, command_id: str | None = None
    ) -> WorkflowRunsModel:
        """The user's ``pause``: the run gives up its slot until it is resumed (404, 409 when it cannot);
        not resumed within the pause TTL, it is failed by the reaper. ``command_id`` as for ``stop``."""
        paused = self._runs.change_status(
            team_id,
            run_id,
            sources(Transition.PAUSE),
            {
                "status": RunStatus.PAUSED.value,
                "pause_deadline_at": self._clock.now() + self._pause_ttl,
                **_recorded(command_id),
            },
            unset=[field for field in DEADLINES if field != "pause_deadline_at"],
            where=where,
        )
        if paused is None:
            raise refusal(self._runs, team_id, run_id, Transition.PAUSE, where)
        self.finalize(paused)
        return paused

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
        """Fail a run still in ``from_statuses`` (the reaper); None if it moved on meanwhile.

        With ``deadline_field``, the run must also still be past that deadline at write time, so a
        heartbeat that lands between the reaper's read and this write saves the run. ``team_id`` (the
        run's, as the caller read it) lets the write carry the team's webhook outbox marker; it is
        required because a terminal write without it carries none, and its event would never be written.
        """
        if not set(from_statuses) <= set(sources(Transition.REAP)):
            raise IllegalTransition(",".join(from_statuses), Transition.REAP.value)
        where = {deadline_field: {"$lt": deadline_before}} if deadline_field and deadline_before else None
        run = self._runs.change_status(
            None,
            run_id,
            from_statuses,
            {
                "status": RunStatus.FAILED.value,
                "termination_source": source.value,
                "error": reason,
                "finished_at": self._clock.now(),
                "claim": None,
                "next_input_hint": None,
                **self._webhooks.marker(team_id, _COMPLETED),
            },
            unset=DEADLINES,
            where=where,
        )
        if run is not None:
            self.finalize(run)
        return run

    def finalize(self, run: WorkflowRunsModel, *, emit: bool = True) -> None:
        """After a run leaves the slot-holding statuses: release its slot, tell listeners when it ended,
        and start queued runs. Idempotent, so the reaper can repeat it after a crash.

        ``run`` is the document the status write returned: the release names the lease token it carries,
        the one of the acquisition that made it slot-holding, so a resume that re-acquired since (a new
        token) keeps its slot. ``emit`` False: the caller writes the ``workflow_run_completed`` events
        itself, through a path that raises (a delete)."""
        inner = run.workflow_run
        steps: list[tuple[str, Callable[[], Any]]] = []
        if inner.status not in SLOT_HOLDING_STATUSES:
            release = partial(
                self._admission.release, run.owner_team_id, inner.workflow_id, run.stored_id, inner.lease_token
            )
            steps.append(("release", release))
        if inner.status in TERMINAL_STATUSES:
            if emit:
                steps.append(("webhooks", partial(self._webhooks.emit, run, _COMPLETED)))
            steps += [
                (type(listener).__name__, partial(listener.on_run_finished, run)) for listener in self._listeners()
            ]
        steps.append(("dispatch", partial(self._dispatcher.dispatch, run.owner_team_id)))
        # Each step runs even if an earlier one failed: the run's outcome is already committed, and the
        # reaper repairs what a failed step leaves (leases by reconciliation, schedules by its sweep).
        for name, step in steps:
            try:
                step()
            except Exception:
                logger.exception("after run %s ended, %s failed; the reaper will reconcile it", run.id, name)

    def delete(self, caller: Caller, run_id: str) -> None:
        """Delete the caller's run; a live one is cancelled first so its slot is released. Nothing that
        made the run makes it again: before the run goes, its delivery's dedupe record is settled, or,
        for a run without one (a keyed start may have made it), its removal is remembered.

        Raises StoreUnavailable (a 503) while one of the run's webhook events cannot be written: the run
        then stays (cancelled, with its marker), and a retry finishes the delete."""
        run = self._queries.get(caller.team_id, run_id)
        if run.workflow_run.status not in TERMINAL_STATUSES:
            stopped = self._cancel(caller.team_id, run_id, "run deleted", TerminationSource.USER_STOP.value)
            if stopped is not None:
                self.finalize(stopped, emit=False)
            # None: another writer ended it since the read, and its marker is on the document as it is now.
            run = stopped or self._queries.get(caller.team_id, run_id)
        # The run's markers (its cancellation's, and any a crash left) go with its document: their events
        # are written first, and the delete fails (503, to be retried; the reaper re-emits from the kept
        # marker otherwise) rather than lose one.
        self._webhooks.emit_before_delete(run)
        dedupe_key = run.workflow_run.dedupe_key
        if dedupe_key is not None and self._dedupe is not None:
            # The delivery that made it may still be marked only reserved (a crash before its mark); once
            # the run is gone, a redelivery would read that as "never made" and make it again.
            source, _, key = dedupe_key.partition(":")
            self._dedupe.mark_created(source, key, run_id)
        elif dedupe_key is None and self._removals is not None:
            # A start with an Idempotency-Key whose answer was never stored is retried with this run's id;
            # once the run is gone, the retry would read "never made" and make it again.
            self._removals.remember(run_id)
        if not self._runs.delete(caller.team_id, run_id):
            raise NotFound("workflow run", run_id)

    def on_workflow_deleted(self, team_id: str, workflow_id: str) -> None:
        """Cancel the live runs of a deleted workflow; finished runs stay readable."""
        for run in self._runs.active_for_workflow(team_id, workflow_id, limit=10_000):
            stopped = self._cancel(team_id, run.stored_id, "workflow deleted", "workflow_deleted")
            if stopped is not None:
                self.finalize(stopped)

    def _cancel(
        self,
        team_id: str,
        run_id: str,
        reason: str,
        source: str,
        where: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> WorkflowRunsModel | None:
        return self._runs.change_status(
            team_id,
            run_id,
            sources(Transition.STOP),
            {
                "status": RunStatus.CANCELLED.value,
                "termination_source": source,
                "error": None,
                "finished_at": self._clock.now(),
                "claim": None,
                "next_input_hint": None,
                "miscellaneous.cancel_reason": reason,
                **self._webhooks.marker(team_id, _COMPLETED),
                **(extra or {}),
            },
            unset=DEADLINES,
            where=where,
        )


def _recorded(command_id: str | None) -> dict[str, Any]:
    """The change that records a keyed command on the run (``WorkflowRun.last_command_id``)."""
    return {} if command_id is None else {"last_command_id": command_id}
