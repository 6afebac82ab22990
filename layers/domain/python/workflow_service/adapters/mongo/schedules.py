"""One-time schedules in MongoDB, and the indexes of every schedule collection.

- ``workflow_schedules``: the public ``WorkflowSchedule`` fields (``_id`` an ObjectId, times as BSON
  dates) plus ``fired_at`` (when a firing claimed it) and the generation fields
  (``schedule_generations``). Every status change is one conditional ``find_one_and_update`` on the
  current status, which is what makes "cancel racing a firing" have exactly one winner without
  transactions.
- recurring schedules and their history: ``recurring_schedules`` (re-exported here).

The reaper's schedule reconciliation pages through in-progress schedules, overdue pending ones,
schedules owed a push and running history rows by ``_id``; partial indexes hold only those
documents, so the sweep costs in proportion to the schedules needing repair, never to everything stored.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.adapters.mongo import schedule_generations as generations
from workflow_service.adapters.mongo.documents import (
    id_selector,
    object_id,
    stored_id,
    to_model,
    to_model_or_none,
)
from workflow_service.adapters.mongo.history_counts import OWING_INDEX
from workflow_service.adapters.mongo.schedule_generations import HISTORY, NEEDS_PUSH_INDEX, ONE_TIME, RECURRING
from workflow_service.adapters.mongo.schedule_overlap import ACTIVE_FIRING_INDEX
from workflow_service.models.recurring import ExecutionStatus
from workflow_service.models.schedules import ScheduleStatus, WorkflowSchedule
from workflow_service.ports.errors import DuplicateKey

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase
    from workflow_service.ports.clock import Clock

HISTORY_RETENTION_DAYS = 90

INDEXES: dict[str, list[dict[str, Any]]] = {
    ONE_TIME: [
        {"keys": [("team_id", ASCENDING), ("scheduled_time", ASCENDING), ("_id", ASCENDING)], "name": "team_list"},
        {
            "keys": [("team_id", ASCENDING), ("status", ASCENDING), ("scheduled_time", ASCENDING), ("_id", ASCENDING)],
            "name": "team_status_list",
        },
        {
            "keys": [
                ("team_id", ASCENDING),
                ("workflow_id", ASCENDING),
                ("scheduled_time", ASCENDING),
                ("_id", ASCENDING),
            ],
            "name": "workflow_list",
        },
        {
            "keys": [("status", ASCENDING), ("_id", ASCENDING)],
            "name": "in_progress_sweep",
            "partialFilterExpression": {"status": ScheduleStatus.IN_PROGRESS.value},
        },
        {
            # Pending schedules by time: the reaper reads the few whose time passed without a firing.
            "keys": [("status", ASCENDING), ("scheduled_time", ASCENDING), ("_id", ASCENDING)],
            "name": "pending_overdue_sweep",
            "partialFilterExpression": {"status": ScheduleStatus.PENDING.value},
        },
        NEEDS_PUSH_INDEX,
    ],
    RECURRING: [
        NEEDS_PUSH_INDEX,
        ACTIVE_FIRING_INDEX,
        {"keys": [("team_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)], "name": "team_list"},
        {
            "keys": [
                ("team_id", ASCENDING),
                ("workflow_id", ASCENDING),
                ("cron_expression", ASCENDING),
                ("timezone", ASCENDING),
            ],
            "name": "one_per_workflow_expression_zone",
            "unique": True,
        },
        {
            # Enabled schedules by when their DST compensations must be planned again (the reaper's sweep).
            "keys": [("dst_review_at", ASCENDING), ("_id", ASCENDING)],
            "name": "dst_review_sweep",
            "partialFilterExpression": {"dst_review_at": {"$type": "date"}},
        },
    ],
    HISTORY: [
        {
            "keys": [("schedule_id", ASCENDING), ("scheduled_time", DESCENDING)],
            "name": "one_row_per_firing",
            "unique": True,
        },
        {
            "keys": [("scheduled_time", ASCENDING)],
            "name": "retention",
            "expireAfterSeconds": HISTORY_RETENTION_DAYS * 86400,
        },
        {
            "keys": [("status", ASCENDING), ("_id", ASCENDING)],
            "name": "running_sweep",
            "partialFilterExpression": {"status": ExecutionStatus.RUNNING.value},
        },
        OWING_INDEX,
    ],
}

_TIME_FIELDS = ("created_at", "updated_at", "scheduled_time")


def _one_time(document: dict[str, Any] | None) -> WorkflowSchedule | None:
    return to_model_or_none(WorkflowSchedule, document)


def _after(after_id: str | None) -> dict[str, Any]:
    """The paging condition of a sweep by ``_id`` (an id that is not an ObjectId pages from the start)."""
    oid = object_id(after_id) if after_id is not None else None
    return {} if oid is None else {"_id": {"$gt": oid}}


class MongoOneTimeScheduleRepository:
    """``ports.OneTimeScheduleRepository``."""

    def __init__(self, database: StoreDatabase, clock: Clock) -> None:
        self._schedules = database[ONE_TIME]
        self._clock = clock

    def insert(self, schedule: WorkflowSchedule) -> None:
        document = schedule.model_dump(by_alias=True, mode="json", exclude=set(_TIME_FIELDS))
        document.update({name: getattr(schedule, name) for name in _TIME_FIELDS})
        document.update(
            generations.generation_fields(schedule.desired_generation, schedule.applied_generation, self._clock.now())
        )
        document["_id"] = stored_id(schedule.id)
        try:
            self._schedules.insert_one(document)
        except DuplicateKeyError as exc:
            raise DuplicateKey(f"schedule {schedule.id} exists") from exc

    def remove(self, schedule_id: str) -> None:
        selector = id_selector(None, schedule_id)
        if selector is not None:
            self._schedules.delete_one(selector)

    def adopt(self, schedule_id: str) -> bool:
        return generations.adopt(self._schedules, schedule_id)

    def remove_unless_adopted(self, schedule_id: str) -> bool:
        return generations.remove_unadopted(self._schedules, schedule_id)

    def get(self, team_id: str | None, schedule_id: str) -> WorkflowSchedule | None:
        selector = id_selector(team_id, schedule_id)
        return None if selector is None else _one_time(self._schedules.find_one(selector))

    def list(
        self, team_id: str, workflow_id: str | None, status: ScheduleStatus | None, skip: int, limit: int
    ) -> builtins.list[WorkflowSchedule]:
        selector: dict[str, Any] = {"team_id": team_id}
        if workflow_id is not None:
            selector["workflow_id"] = workflow_id
        if status is not None:
            selector["status"] = status.value
        documents = self._schedules.find(
            selector, sort=[("scheduled_time", ASCENDING), ("_id", ASCENDING)], skip=skip, limit=limit
        )
        return [to_model(WorkflowSchedule, document) for document in documents]

    def update_pending(
        self,
        team_id: str,
        schedule_id: str,
        fields: dict[str, Any],
        user_id: str,
        *,
        bump: bool = False,
        bump_unless: dict[str, Any] | None = None,
    ) -> WorkflowSchedule | None:
        selector = id_selector(team_id, schedule_id)
        if selector is None:
            return None
        now = self._clock.now()
        changes = {"updated_at": now, **fields, "updated_by": user_id}
        pending = {**selector, "status": ScheduleStatus.PENDING.value}
        if bump and bump_unless:
            # Two conditional writes, each atomic on its condition: a bump where the values differ (the
            # usual case, one round trip), else the same values kept without one.
            document = self._schedules.find_one_and_update(
                {**pending, "$nor": [bump_unless]},
                generations.with_bump(changes, now),
                return_document=ReturnDocument.BEFORE,
            )
            if document is not None:
                return _one_time(document)
            bump, pending = False, {**pending, **bump_unless}
        document = self._schedules.find_one_and_update(
            pending,
            generations.with_bump(changes, now) if bump else {"$set": changes},
            return_document=ReturnDocument.BEFORE,
        )
        return _one_time(document)

    def restore_pending(
        self, schedule_id: str, expected: dict[str, Any], previous: dict[str, Any], *, bump: bool = False
    ) -> bool:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return False
        update = generations.with_bump(previous, self._clock.now()) if bump else {"$set": previous}
        result = self._schedules.update_one({**selector, "status": ScheduleStatus.PENDING.value, **expected}, update)
        return result.modified_count == 1

    def cancel(
        self, team_id: str | None, schedule_id: str, user_id: str | None, reason: str | None = None
    ) -> WorkflowSchedule | None:
        selector = id_selector(team_id, schedule_id)
        if selector is None:
            return None
        changes: dict[str, Any] = {"status": ScheduleStatus.CANCELLED.value, "updated_at": self._clock.now()}
        if user_id is not None:
            changes["updated_by"] = user_id
        if reason is not None:
            changes["error_message"] = reason
        # The AWS schedule is no longer wanted: a new generation, "absent".
        document = self._schedules.find_one_and_update(
            {**selector, "status": ScheduleStatus.PENDING.value},
            generations.with_bump(changes, self._clock.now()),
            return_document=ReturnDocument.AFTER,
        )
        return _one_time(document)

    def claim_for_firing(
        self, schedule_id: str, at: datetime, due_by: datetime, generation: int | None = None
    ) -> WorkflowSchedule | None:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return None
        due = {**selector, "scheduled_time": {"$lte": due_by}}
        pending: dict[str, Any] = {**due, "status": ScheduleStatus.PENDING.value}
        if generation is not None:
            # "$not $gt" also matches a document without the field (written before generations).
            pending["desired_generation"] = {"$not": {"$gt": generation}}
        # An at() schedule deletes itself once it fires: both generations move on to "absent", which
        # keeps any push still owed (a stale definition elsewhere in AWS) owed.
        document = self._schedules.find_one_and_update(
            pending,
            {
                "$set": {"status": ScheduleStatus.IN_PROGRESS.value, "fired_at": at, "updated_at": at},
                "$inc": {"desired_generation": 1, "applied_generation": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            # A firing claimed before whose run was never recorded (the delivery crashed or met a
            # transient failure): EventBridge's retry carries the generation that fired, one behind the
            # claim's, and takes it over without moving the generations again.
            unfinished: dict[str, Any] = {**due, "status": ScheduleStatus.IN_PROGRESS.value, "actual_run_id": None}
            if generation is not None:
                unfinished["desired_generation"] = {"$not": {"$gt": generation + 1}}
            document = self._schedules.find_one_and_update(
                unfinished, {"$set": {"updated_at": at}}, return_document=ReturnDocument.AFTER
            )
        return _one_time(document)

    def record_run(self, schedule_id: str, run_id: str) -> None:
        selector = id_selector(None, schedule_id)
        if selector is not None:
            self._schedules.update_one(
                {**selector, "actual_run_id": None},
                {"$set": {"actual_run_id": run_id, "updated_at": self._clock.now()}},
            )

    def finish(
        self, schedule_id: str, status: ScheduleStatus, error_message: str | None, run_id: str | None
    ) -> WorkflowSchedule | None:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return None
        changes: dict[str, Any] = {
            "status": status.value,
            "error_message": error_message,
            "updated_at": self._clock.now(),
        }
        condition: dict[str, Any] = {"status": ScheduleStatus.IN_PROGRESS.value}
        if run_id is not None:
            # The run may end before the firing recorded it; the outcome carries the link too.
            changes["actual_run_id"] = run_id
            condition["actual_run_id"] = {"$in": [None, run_id]}
        document = self._schedules.find_one_and_update(
            {**selector, **condition}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return _one_time(document)

    def in_progress(self, after_id: str | None, limit: int) -> builtins.list[WorkflowSchedule]:
        documents = self._schedules.find(
            {"status": ScheduleStatus.IN_PROGRESS.value, **_after(after_id)},
            sort=[("_id", ASCENDING)],
            limit=limit,
        )
        return [to_model(WorkflowSchedule, document) for document in documents]

    def record_applied(self, schedule_id: str, generation: int) -> bool:
        return generations.record_applied(self._schedules, schedule_id, generation)

    def mark_stale(self, schedule_id: str, generation: int) -> bool:
        return generations.mark_stale(self._schedules, schedule_id, generation, self._clock.now())

    def needing_push(
        self, changed_before: datetime, after_id: str | None, limit: int
    ) -> builtins.list[WorkflowSchedule]:
        documents = self._schedules.find(
            generations.needing_push_selector(changed_before, after_id), sort=[("_id", ASCENDING)], limit=limit
        )
        return [to_model(WorkflowSchedule, document) for document in documents]

    def overdue_pending(
        self, due_before: datetime, after_id: str | None, limit: int
    ) -> builtins.list[WorkflowSchedule]:
        documents = self._schedules.find(
            {"status": ScheduleStatus.PENDING.value, "scheduled_time": {"$lte": due_before}, **_after(after_id)},
            sort=[("_id", ASCENDING)],
            limit=limit,
        )
        return [to_model(WorkflowSchedule, document) for document in documents]

    def existing_ids(self, ids: builtins.list[str]) -> set[str]:
        return generations.existing_ids(self._schedules, ids)

    def pending_ids_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> builtins.list[str]:
        documents = self._schedules.find(
            {"team_id": team_id, "workflow_id": workflow_id, "status": ScheduleStatus.PENDING.value},
            projection={"_id": 1},
            limit=limit,
        )
        return [str(document["_id"]) for document in documents]


# Re-exported: the wiring and tests import every schedule repository from here.
from workflow_service.adapters.mongo.recurring_schedules import MongoRecurringScheduleRepository  # noqa: E402
from workflow_service.adapters.mongo.workflow_summaries import MongoWorkflowNames  # noqa: E402

__all__ = ["INDEXES", "MongoOneTimeScheduleRepository", "MongoRecurringScheduleRepository", "MongoWorkflowNames"]
