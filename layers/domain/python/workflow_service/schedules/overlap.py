"""A recurring schedule's overlap policy: what a firing does while the schedule's previous run is active.

State (``ports.OverlapState``, on the schedule document): ``active_firing`` names the firing (its
scheduled time, and its run once known) whose run is the schedule's active one; ``buffered_firing``
holds at most one firing waiting for it (``buffer_one``). Firings are keyed by scheduled time, like
runs (``recurring:<id>:<time>``), so every step below can be repeated and finds the same run.

A firing at T (policy other than ``allow``):
0. T already has a history row (it was run, skipped, or could not start): a duplicate, nothing is
   claimed or submitted (unless T is the active firing: then as in 2, which notes or releases it);
1. no active firing: claim it (conditional on none: of two racing firings one wins, the other
   re-reads and finds the winner active), then start T's run and note its id on the claim;
2. the active firing is T itself: a retry of this firing: start (finds the same run) and note it;
3. another firing is active and its run has ended (a run-end notification was lost): release it
   (promoting the buffered firing), then go on as in 1;
4. it is active (its run live, or not inserted yet): ``skip`` adds a ``skipped`` history row (reason
   ``overlap``); ``buffer_one`` sets ``buffered_firing`` (conditional on the same active firing and
   none waiting; when one waits already, T is skipped); ``cancel_previous`` stops the previous run
   (``termination_source`` ``schedule_overlap``), whose end releases it, then goes on as in 1 (while
   the previous run is not inserted yet there is nothing to stop: the delivery is retried). A T
   older than the active firing (a late redelivery) never stops or replaces it: ``buffer_one`` and
   ``skip`` skip it (reason ``overlap``), ``cancel_previous`` too (reason ``superseded``).

Run end (``on_run_finished``, and the reaper's ``reconcile`` for a lost one): a run whose firing is
the active one releases it in ONE write that also promotes the buffered firing (conditional on both
as read, re-read on a race with a buffering firing); then the promoted firing's run is started and
noted; a buffered firing of a schedule disabled (or re-bounded past it) since is not promoted but
dropped, recorded as ``skipped`` with the reason, and so is a crash-left claim the reaper finds so.
A crash between any two of these writes leaves either a claim without a noted run, which the
reaper completes once ``grace`` has passed (starting the run: the dedupe key finds one a crashed
start made), or an active firing whose run ended, which the reaper releases.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from workflow_service.errors import UpstreamUnavailable
from workflow_service.models.common import format_utc
from workflow_service.models.recurring import ActiveFiring, OverlapPolicy, RecurringSchedule
from workflow_service.models.runs import TERMINAL_STATUSES, TerminationSource, WorkflowRunsModel
from workflow_service.schedules import bounds
from workflow_service.schedules.recurring_runs import FiringOutcome, recurring_dedupe_key

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.runs import RunRepository
    from workflow_service.ports.schedules import OverlapState, RecurringScheduleRepository
    from workflow_service.schedules.recurring_runs import RecurringRunStarter

logger = logging.getLogger(__name__)

OVERLAP_REASON = "overlap"
SUPERSEDED_REASON = "superseded"
DISABLED_REASON = "schedule disabled"
OUT_OF_BOUNDS_REASON = "outside the schedule's start_at/end_at"
_ATTEMPTS = 4
# Stops a run (the run lifecycle's cancel): (team id, run id, reason, termination source) -> the run, or
# None. The team is the run's owner, whose subscriptions the cancelling write's outbox marker follows.
RunCanceller = Callable[[str, str, str, TerminationSource], object]


class ScheduleOverlap:
    """Applies ``overlap_policy`` to firings, releases the active firing at run end, and repairs."""

    def __init__(
        self,
        recurring: RecurringScheduleRepository,
        state: OverlapState,
        runs: RunRepository,
        starter: RecurringRunStarter,
        cancel: Callable[[], RunCanceller],
        clock: Clock,
        *,
        grace: timedelta,
    ) -> None:
        """``grace``: how long a claim may wait for its run before the reaper starts it."""
        self._recurring = recurring
        self._state = state
        self._runs = runs
        self._starter = starter
        self._cancel = cancel
        self._clock = clock
        self._grace = grace

    # -- a firing ------------------------------------------------------------------------------

    def fire(self, schedule: RecurringSchedule, scheduled_time: datetime, now: datetime) -> FiringOutcome:
        """The firing at ``scheduled_time`` under the schedule's policy (see the module docstring)."""
        schedule_id = schedule.stored_id
        decided = self._starter.decided(schedule_id, scheduled_time)
        claimed = schedule.active_firing is not None and schedule.active_firing.scheduled_time == scheduled_time
        if decided is not None and not claimed:
            # Decided before (skipped while another run was live, or run): claiming it now would make
            # it the active firing, and skip the next occurrences behind a run that must not exist.
            return decided
        current: RecurringSchedule | None = schedule
        for _ in range(_ATTEMPTS):
            if current is None:
                return FiringOutcome("skipped", schedule_id, reason="no such schedule")
            active = current.active_firing
            if active is None:
                if self._state.claim(schedule_id, scheduled_time, now):
                    return self._start_claimed(current, scheduled_time, now)
            elif active.scheduled_time == scheduled_time:
                return self._start_claimed(current, scheduled_time, now)
            else:
                run = self._run_of(schedule_id, active)
                if _ended(active, run):
                    self.release(schedule_id, active.scheduled_time)
                else:
                    outcome = self._overlapping(current, active, run, scheduled_time, now)
                    if outcome is not None:
                        return outcome
            current = self._recurring.get(None, schedule_id)
        raise UpstreamUnavailable(f"recurring schedule {schedule_id}: firings kept racing; the delivery is retried")

    def _overlapping(
        self,
        schedule: RecurringSchedule,
        active: ActiveFiring,
        run: WorkflowRunsModel | None,
        scheduled_time: datetime,
        now: datetime,
    ) -> FiringOutcome | None:
        """What the policy does while ``active`` is live; None: the state moved, read it again."""
        schedule_id = schedule.stored_id
        policy = schedule.overlap_policy
        if policy is OverlapPolicy.CANCEL_PREVIOUS:
            if scheduled_time < active.scheduled_time:
                # A late redelivery (EventBridge retries for up to an hour): the live run is the newer
                # firing's, and an older occurrence never replaces it.
                later = f"a later firing ({format_utc(active.scheduled_time)}) is active"
                return self._skip(schedule, scheduled_time, now, SUPERSEDED_REASON, later)
            if run is None:
                raise UpstreamUnavailable(
                    f"recurring schedule {schedule_id}: the previous firing's run is still starting; retried"
                )
            replaced = f"a later firing ({scheduled_time.isoformat()}) replaced it"
            self._cancel()(run.owner_team_id, run.stored_id, replaced, _OVERLAP)
            return None
        if policy is OverlapPolicy.BUFFER_ONE:
            if schedule.buffered_firing == scheduled_time:
                return FiringOutcome("buffered", schedule_id, reason="already waiting for the previous run")
            # A late redelivery of a firing older than the active one is not worth waiting for.
            if schedule.buffered_firing is None and scheduled_time > active.scheduled_time:
                if self._state.buffer(schedule_id, active.scheduled_time, scheduled_time):
                    logger.info("recurring schedule %s: firing %s waits for its previous run", schedule_id, now)
                    return FiringOutcome("buffered", schedule_id, reason="waiting for the previous run to end")
                return None
        run_label = active.run_id or (run.id if run is not None else "starting")
        return self._skip(schedule, scheduled_time, now, OVERLAP_REASON, f"run {run_label} is still active")

    def _skip(
        self, schedule: RecurringSchedule, scheduled_time: datetime, now: datetime, reason: str, detail: str
    ) -> FiringOutcome:
        """Record the occurrence as ``skipped`` for ``reason`` (once: a row it has already is kept)."""
        schedule_id = schedule.stored_id
        self._starter.skip(schedule, scheduled_time, now, reason)
        logger.info("recurring schedule %s: firing %s skipped: %s", schedule_id, format_utc(scheduled_time), detail)
        return FiringOutcome("skipped", schedule_id, reason=f"{reason}: {detail}")

    def _start_claimed(self, schedule: RecurringSchedule, scheduled_time: datetime, now: datetime) -> FiringOutcome:
        """Start the active firing's run and note it; a run that cannot start releases the claim."""
        outcome = self._starter.start(schedule, scheduled_time, now, overlap_policy=schedule.overlap_policy)
        if outcome.run_id is not None:
            self._state.record_run(schedule.stored_id, scheduled_time, outcome.run_id)
        else:
            self.release(schedule.stored_id, scheduled_time)
        return outcome

    # -- run end ---------------------------------------------------------------------------------

    def on_run_finished(self, run: WorkflowRunsModel) -> None:
        """``RunFinishedListener``: a run of a recurring firing ended; release it if it is the active one."""
        trigger = run.workflow_run.trigger
        # Only runs started under a policy can be active firings: other runs' ends cost nothing here.
        if trigger.overlap_policy and trigger.recurring_schedule_id and trigger.scheduled_time:
            self.release(trigger.recurring_schedule_id, trigger.scheduled_time)

    def release(self, schedule_id: str, scheduled_time: datetime) -> bool:
        """End the active firing at ``scheduled_time`` (if it still is the active one), promoting and
        starting the buffered firing; True if this call released it."""
        for _ in range(_ATTEMPTS):
            schedule = self._recurring.get(None, schedule_id)
            active = schedule.active_firing if schedule is not None else None
            if schedule is None or active is None or active.scheduled_time != scheduled_time:
                return False
            now = self._clock.now()
            promoted = schedule.buffered_firing
            refused = _no_start(schedule, promoted) if promoted is not None else None
            if promoted is not None and refused is not None:
                # The row first: should the release below not happen (a crash), the next release
                # promotes a firing already decided, which then starts nothing.
                self._starter.skip(schedule, promoted, now, refused)
            if self._state.release(schedule_id, scheduled_time, promoted, now, promote=refused is None):
                if promoted is not None and refused is None:
                    self._start_claimed(schedule, promoted, now)
                return True
        return False

    # -- the reaper ------------------------------------------------------------------------------

    def reconcile(self, limit: int) -> int:
        """The first batch of schedules with an active firing, repaired (see ``repair``)."""
        return self.repair(self.active(None, limit))

    def active(self, after_id: str | None, limit: int) -> list[RecurringSchedule]:
        """Up to ``limit`` schedules with an active firing, by id after ``after_id`` (the reaper pages them)."""
        return self._state.with_active(after_id, limit)

    def repair(self, schedules: list[RecurringSchedule]) -> int:
        """Release the firings of ``schedules`` whose run ended (or is gone), start claims left without a
        run past ``grace``, note runs a crash left unnoted. Returns the repairs made."""
        repairs = 0
        now = self._clock.now()
        for schedule in schedules:
            active = schedule.active_firing
            if active is None:
                continue
            schedule_id = schedule.stored_id
            run = self._run_of(schedule_id, active)
            if _ended(active, run):
                repairs += self.release(schedule_id, active.scheduled_time)
            elif run is None and active.claimed_at + self._grace <= now:
                if (refused := _no_start(schedule, active.scheduled_time)) is not None:
                    logger.info(
                        "recurring schedule %s: dropping the firing a crash left claimed: %s", schedule_id, refused
                    )
                    self._starter.skip(schedule, active.scheduled_time, now, refused)
                    repairs += self.release(schedule_id, active.scheduled_time)
                    continue
                logger.info("recurring schedule %s: starting the firing a crash left claimed", schedule_id)
                self._start_claimed(schedule, active.scheduled_time, now)
                repairs += 1
            elif run is not None and active.run_id is None:
                repairs += self._state.record_run(schedule_id, active.scheduled_time, run.stored_id)
        return repairs

    def _run_of(self, schedule_id: str, active: ActiveFiring) -> WorkflowRunsModel | None:
        if active.run_id is not None:
            return self._runs.get(None, active.run_id)
        return self._runs.find_by_dedupe_key(recurring_dedupe_key(schedule_id, active.scheduled_time))


_OVERLAP = TerminationSource.SCHEDULE_OVERLAP


def _no_start(schedule: RecurringSchedule, scheduled_time: datetime) -> str | None:
    """Why a firing that waited (buffered, or claimed before a crash) may no longer start, or None.

    Its delivery was checked when it arrived; the schedule may have been disabled or re-bounded since."""
    if not schedule.enabled:
        return DISABLED_REASON
    if not bounds.within(scheduled_time, schedule.start_at, schedule.end_at):
        return OUT_OF_BOUNDS_REASON
    return None


def _ended(active: ActiveFiring, run: WorkflowRunsModel | None) -> bool:
    """The active firing's run has ended, or was deleted (noted, then gone)."""
    if run is None:
        return active.run_id is not None
    return run.workflow_run.status in TERMINAL_STATUSES
