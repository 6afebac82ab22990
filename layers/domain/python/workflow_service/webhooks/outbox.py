"""The outbox markers of the run and workflow paths, and emission from them.

A causing write carries its marker (``webhook_outbox.<action>``) in the same conditional write:
- a run: ``workflow_run_started`` in the write that makes it started (the dispatcher's admission, or
  the insert of an execute API run), ``workflow_run_completed`` in its terminal write; the value is
  when the write was made (the payload's ``occurred_at``, so a re-emission writes the same payload);
- a workflow: ``workflow_created`` in its insert, ``workflow_deleted`` in the write that marks it
  deleted (before its document goes), and for ``workflow_updated`` a count of updates whose events
  are still to be written, incremented with ``webhook_revision`` (which every update increments).
  Of a workflow at revision R with k pending updates, the events of revisions R-k+1..R are written
  and the marker is cleared only if the revision is still R, so a concurrent update's marker stays;
- a version rename or config update writes the version document, not the workflow: that write carries
  the version's own ``workflow_updated`` marker and counts the change in the version's
  ``webhook_changes``. The change is then counted on the workflow: one conditional write on the count
  the workflow last recorded for that version (``webhook_versions.<n>``) adds the uncounted changes to
  ``webhook_revision`` and to the workflow's pending count, as any other update; then the version's
  marker is cleared (only while it has made no later change). A repeated count finds the changes
  already recorded and adds nothing, so every version change is one revision, one event.

Then the events are written (``WebhookEmitter.emit``) and the marker cleared by a conditional write. A
crash in between leaves the marker, and the reaper re-emits from it (``reemit``: index-backed,
bounded); the events' deterministic ids make every repetition a no-op. A delete takes the markers with
the document, so it writes their events first with ``emit_before_delete``, which raises: the delete
then fails (a 503) and keeps the document, marker included, for its retry or the reaper. Markers are
written only when the team has subscriptions to the action (the emitter's cached answer), so a team
without subscriptions pays nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from workflow_service.errors import StoreUnavailable
from workflow_service.models.webhook_actions import WebhookAction

if TYPE_CHECKING:
    from workflow_service.models.runs import WorkflowRunsModel
    from workflow_service.models.workflows import Workflow, WorkflowVersion
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.webhooks import RunOutboxMarks, VersionOutboxMarks, WorkflowOutboxMarks
    from workflow_service.webhooks.emission import WebhookEmitter
    from workflow_service.webhooks.workflow_names import WorkflowNameCache

logger = logging.getLogger(__name__)

MARKER_FIELD = "webhook_outbox"
RUN_ACTIONS = (WebhookAction.WORKFLOW_RUN_STARTED, WebhookAction.WORKFLOW_RUN_COMPLETED)
WORKFLOW_ACTIONS = (WebhookAction.WORKFLOW_CREATED, WebhookAction.WORKFLOW_UPDATED, WebhookAction.WORKFLOW_DELETED)
_UPDATED = WebhookAction.WORKFLOW_UPDATED
# Conditional counts tried before a version's marker is left to the reaper: each failure means another
# writer counted meanwhile, so a few attempts suffice outside of a storm of concurrent version edits.
COUNT_ATTEMPTS = 3


class RunOutbox:
    """Markers for run writes (``marker``) and the emission that follows them."""

    def __init__(
        self,
        emitter: WebhookEmitter | None,
        runs: RunOutboxMarks | None,
        clock: Clock,
        names: WorkflowNameCache | None = None,
    ) -> None:
        """With ``emitter`` None (no webhooks wired) no marker is ever written; without ``names`` the
        events carry no ``workflow_name``."""
        self._emitter = emitter
        self._runs = runs
        self._clock = clock
        self._names = names

    def marks(self, team_id: str, action: WebhookAction) -> dict[str, datetime]:
        """The run's ``webhook_outbox`` for a run document written whole (an insert), if the team listens.
        ``team_id`` is the run's owner, never unknown: a write made without it would carry no marker."""
        if self._emitter is None or not self._emitter.wants(team_id, action):
            return {}
        return {action.value: self._clock.now()}

    def marker(self, team_id: str, action: WebhookAction) -> dict[str, datetime]:
        """What the causing write adds to its ``workflow_run`` changes: the marker, if the team listens."""
        return {f"{MARKER_FIELD}.{key}": value for key, value in self.marks(team_id, action).items()}

    def emit(self, run: WorkflowRunsModel | None, action: WebhookAction) -> None:
        """Write the events of ``action`` if the run's last write carried its marker, then clear it.
        Never raises: a failure leaves the marker to the reaper."""
        if run is None or self._emitter is None or self._runs is None:
            return
        marked_at = run.workflow_run.webhook_outbox.get(action.value)
        if marked_at is None:
            return
        try:
            self._emit(run, action, marked_at)
        except Exception:
            logger.exception("webhook %s events of run %s not written; the reaper re-emits them", action, run.id)

    def emit_before_delete(self, run: WorkflowRunsModel) -> None:
        """Write the events of every marker the run carries (its deleting cancellation's, those a crash left
        behind), raising when one cannot be written: its marker goes with the deleted document, and the
        reaper could not re-emit it."""
        if self._emitter is None or self._runs is None:
            return
        for action in RUN_ACTIONS:
            marked_at = run.workflow_run.webhook_outbox.get(action.value)
            if marked_at is not None:
                self._emit(run, action, marked_at)

    def _emit(self, run: WorkflowRunsModel, action: WebhookAction, marked_at: datetime) -> None:
        # Imported on the first emission: a container whose teams have no subscriptions never declares
        # the payload models.
        from workflow_service.webhooks import payloads

        assert self._emitter is not None and self._runs is not None
        workflow_id = run.workflow_run.workflow_id
        name = self._names.name(run.owner_team_id, workflow_id) if self._names is not None else None
        if action is WebhookAction.WORKFLOW_RUN_STARTED:
            subject = payloads.run_started(run, marked_at, workflow_name=name)
        else:
            subject = payloads.run_completed(run, marked_at, workflow_name=name)
        self._emitter.emit(subject)
        self._runs.clear_webhook_marker(run.stored_id, action.value)

    def reemit(self, limit: int) -> int:
        """Emit from up to ``limit`` markers per action that a crash left behind; returns how many."""
        if self._emitter is None or self._runs is None:
            return 0
        done = 0
        for action in RUN_ACTIONS:
            for run in self._runs.webhook_marked(action.value, limit):
                marked_at = run.workflow_run.webhook_outbox.get(action.value)
                if marked_at is not None and _emitted(partial(self._emit, run, action, marked_at), run.id):
                    done += 1
        return done


class WorkflowOutbox:
    """Markers for workflow writes and the emission that follows them (see the module docstring)."""

    def __init__(
        self,
        emitter: WebhookEmitter | None,
        workflows: WorkflowOutboxMarks | None,
        clock: Clock,
        names: WorkflowNameCache | None = None,
        versions: VersionOutboxMarks | None = None,
    ) -> None:
        """``names``, when given, learns each emitted workflow's current name (the run events' cache).
        Without ``versions`` the markers of version writes are neither counted nor re-emitted."""
        self._emitter = emitter
        self._workflows = workflows
        self._versions = versions
        self._clock = clock
        self._names = names

    def wants(self, team_id: str, action: WebhookAction) -> bool:
        """Whether the causing write must carry ``action``'s marker."""
        return self._emitter is not None and self._emitter.wants(team_id, action)

    def marker_value(self) -> datetime:
        return self._clock.now()

    def emit(self, workflow: Workflow | None, action: WebhookAction) -> None:
        """Write the events of ``action`` if the workflow's last write left its marker, then clear it.
        Never raises: a failure leaves the marker to the reaper."""
        if workflow is None or self._emitter is None or self._workflows is None:
            return
        if workflow.webhook_outbox.get(action.value) is None:
            return
        try:
            self._emit(workflow, action)
        except Exception:
            logger.exception("webhook %s events of workflow %s not written; the reaper re-emits", action, workflow.id)

    def emit_version_changes(self, version: WorkflowVersion | None, workflow: Workflow | None = None) -> None:
        """Count the changes of ``version`` whose last write carried its marker as updates of its workflow,
        then write their ``workflow_updated`` events; ``workflow`` is the workflow as read before the write
        (it saves a read). Never raises: a failure leaves a marker (the version's or the workflow's) to
        the reaper."""
        if version is None or self._emitter is None or self._workflows is None or self._versions is None:
            return
        if version.webhook_outbox.get(_UPDATED.value) is None:
            return
        try:
            counted = self._count_version_changes(version, workflow)
        except Exception:
            logger.exception(
                "changes of version %s/%s not counted; the reaper does", version.workflow_id, version.version_number
            )
            return
        self.emit(counted, _UPDATED)

    def _count_version_changes(self, version: WorkflowVersion, workflow: Workflow | None = None) -> Workflow | None:
        """The workflow once ``version``'s changes are counted on it (None if it is deleted: its versions go
        with it), the version's marker cleared. Raises when they could not be counted: the marker stays."""
        assert self._workflows is not None and self._versions is not None
        workflow_id, number = version.workflow_id, version.version_number
        for _ in range(COUNT_ATTEMPTS):
            if workflow is None:
                workflow = self._workflows.get(version.owner_team_id, workflow_id)
            if workflow is None:
                break
            counted = workflow.webhook_versions.get(str(number), 0)
            if counted >= version.webhook_changes:
                break  # a retry or the reaper counted them
            workflow = self._workflows.count_version_changes(version, counted, version.updated_at)
            if workflow is not None:
                break
        else:
            raise RuntimeError(f"changes of version {workflow_id}/{number} not counted: the count kept changing")
        self._versions.clear_webhook_marker(workflow_id, number, version.webhook_changes)
        return workflow

    def _emit_version_changes(self, version: WorkflowVersion) -> None:
        """The reaper's re-emission of a version marker: count, then emit (raising, unlike the request path)."""
        workflow = self._count_version_changes(version)
        if workflow is not None and workflow.webhook_outbox.get(_UPDATED.value) is not None:
            self._emit(workflow, _UPDATED)

    def emit_before_delete(self, workflow: Workflow) -> None:
        """Write the events of every marker the workflow carries (its deletion's, and any a crash left),
        raising when one cannot be written: its marker goes with the deleted document, and the reaper
        could not re-emit it. Created and updated come first, so the name cache ends on "deleted"."""
        if self._emitter is None or self._workflows is None:
            return
        for action in WORKFLOW_ACTIONS:
            if workflow.webhook_outbox.get(action.value) is not None:
                self._emit(workflow, action)

    def _emit(self, workflow: Workflow, action: WebhookAction) -> None:
        from workflow_service.webhooks import payloads  # on the first emission, as in RunOutbox._emit

        assert self._emitter is not None and self._workflows is not None
        pending: Any = workflow.webhook_outbox[action.value]
        if self._names is not None and workflow.team_id:
            gone = action is WebhookAction.WORKFLOW_DELETED
            self._names.remember(workflow.team_id, str(workflow.id), None if gone else workflow.name)
        occurred_at = workflow.updated_at or workflow.created_at or self._clock.now()
        if action is WebhookAction.WORKFLOW_UPDATED:
            latest = workflow.webhook_revision
            for revision in range(max(1, latest - int(pending) + 1), latest + 1):
                self._emitter.emit(payloads.workflow_event(workflow, action, occurred_at, revision=revision))
            self._workflows.clear_webhook_marker(str(workflow.id), action.value, revision=latest)
        else:
            if isinstance(pending, datetime):
                occurred_at = pending
            self._emitter.emit(payloads.workflow_event(workflow, action, occurred_at))
            self._workflows.clear_webhook_marker(str(workflow.id), action.value)

    def reemit(self, limit: int) -> int:
        """Emit from up to ``limit`` markers per action, and up to ``limit`` version markers, that a crash
        left behind (tombstones included)."""
        if self._emitter is None or self._workflows is None:
            return 0
        done = 0
        # Versions first: what they count is emitted with them, before the workflows' own sweep.
        for version in self._versions.webhook_marked(limit) if self._versions is not None else ():
            if _emitted(partial(self._emit_version_changes, version), version.id):
                done += 1
        for action in WORKFLOW_ACTIONS:
            for workflow in self._workflows.webhook_marked(action.value, limit):
                if workflow.webhook_outbox.get(action.value) is not None and _emitted(
                    partial(self._emit, workflow, action), workflow.id
                ):
                    done += 1
        return done


def _emitted(emit: Callable[[], None], subject_id: str | None) -> bool:
    """One re-emission; a failure other than the store's is logged and skipped, so one marker that cannot
    be emitted does not hold back the others of the pass (the store being down ends the pass)."""
    try:
        emit()
    except StoreUnavailable:
        raise
    except Exception:
        logger.exception("webhook events of %s could not be re-emitted; the next pass tries again", subject_id)
        return False
    return True
