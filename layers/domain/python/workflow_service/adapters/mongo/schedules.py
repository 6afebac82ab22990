"""One-time schedules, recurring schedules and their execution history in MongoDB.

Collections:
- ``workflow_schedules``: the public ``WorkflowSchedule`` fields (``_id`` an ObjectId, times as BSON
  dates) plus ``fired_at`` (when a firing claimed it). Every status change is one conditional
  ``find_one_and_update`` on the current status, which is what makes "cancel racing a firing" have
  exactly one winner without transactions.
- ``recurring_schedules``: the public ``RecurringSchedule`` fields except the computed ``next_run``
  and ``workflow_name``. A unique index on (team, workflow, expression, time zone) enforces "one
  schedule per workflow, expression and zone" under concurrent creates (seed 002's 409).
- ``recurring_schedule_history``: one row per (schedule, scheduled time), unique, so a duplicate
  delivery can never add a second row; rows expire after ``HISTORY_RETENTION_DAYS``.

The reaper's schedule reconciliation pages through in-progress schedules and running history rows by
``_id``; partial indexes hold only those documents, so the sweep costs in proportion to the firings
in flight, never to every schedule or row stored.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.adapters.mongo.documents import (
    id_selector,
    object_id,
    stored_id,
    to_model,
    to_model_or_none,
)
from workflow_service.adapters.mongo.workflows import WORKFLOWS
from workflow_service.models.recurring import ExecutionStatus, HistoryEntry, HistoryRow, RecurringSchedule
from workflow_service.models.schedules import ScheduleStatus, WorkflowSchedule
from workflow_service.ports.errors import DuplicateKey

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase
    from workflow_service.ports.clock import Clock

ONE_TIME = "workflow_schedules"
RECURRING = "recurring_schedules"
HISTORY = "recurring_schedule_history"
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
    ],
    RECURRING: [
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
    ],
}

_TIME_FIELDS = ("created_at", "updated_at", "scheduled_time")
_RECURRING_TIME_FIELDS = ("created_at", "updated_at", "last_run")
_COMPUTED_RECURRING_FIELDS = {"next_run", "workflow_name"}


def _one_time(document: dict[str, Any] | None) -> WorkflowSchedule | None:
    return to_model_or_none(WorkflowSchedule, document)


def _recurring(document: dict[str, Any] | None) -> RecurringSchedule | None:
    return to_model_or_none(RecurringSchedule, document)


def _history(document: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry.model_validate(document)


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
        document["_id"] = stored_id(schedule.id)
        self._schedules.insert_one(document)

    def remove(self, schedule_id: str) -> None:
        selector = id_selector(None, schedule_id)
        if selector is not None:
            self._schedules.delete_one(selector)

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
        self, team_id: str, schedule_id: str, fields: dict[str, Any], user_id: str
    ) -> WorkflowSchedule | None:
        selector = id_selector(team_id, schedule_id)
        if selector is None:
            return None
        document = self._schedules.find_one_and_update(
            {**selector, "status": ScheduleStatus.PENDING.value},
            {"$set": {"updated_at": self._clock.now(), **fields, "updated_by": user_id}},
            return_document=ReturnDocument.BEFORE,
        )
        return _one_time(document)

    def restore_pending(self, schedule_id: str, expected: dict[str, Any], previous: dict[str, Any]) -> bool:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return False
        result = self._schedules.update_one(
            {**selector, "status": ScheduleStatus.PENDING.value, **expected}, {"$set": previous}
        )
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
        document = self._schedules.find_one_and_update(
            {**selector, "status": ScheduleStatus.PENDING.value},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return _one_time(document)

    def claim_for_firing(self, schedule_id: str, at: datetime, due_by: datetime) -> WorkflowSchedule | None:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return None
        claimable = {
            "scheduled_time": {"$lte": due_by},
            "$or": [
                {"status": ScheduleStatus.PENDING.value},
                {"status": ScheduleStatus.IN_PROGRESS.value, "actual_run_id": None},
            ],
        }
        document = self._schedules.find_one_and_update(
            {**selector, **claimable},
            {"$set": {"status": ScheduleStatus.IN_PROGRESS.value, "fired_at": at, "updated_at": at}},
            return_document=ReturnDocument.AFTER,
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

    def pending_ids_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> builtins.list[str]:
        documents = self._schedules.find(
            {"team_id": team_id, "workflow_id": workflow_id, "status": ScheduleStatus.PENDING.value},
            projection={"_id": 1},
            limit=limit,
        )
        return [str(document["_id"]) for document in documents]


class MongoRecurringScheduleRepository:
    """``ports.RecurringScheduleRepository``."""

    def __init__(self, database: StoreDatabase, clock: Clock) -> None:
        self._schedules = database[RECURRING]
        self._history = database[HISTORY]
        self._clock = clock

    def insert(self, schedule: RecurringSchedule) -> None:
        exclude = set(_RECURRING_TIME_FIELDS) | _COMPUTED_RECURRING_FIELDS
        document = schedule.model_dump(by_alias=True, mode="json", exclude=exclude)
        document.update({name: getattr(schedule, name) for name in _RECURRING_TIME_FIELDS})
        document["_id"] = stored_id(schedule.id)
        try:
            self._schedules.insert_one(document)
        except DuplicateKeyError as exc:
            raise DuplicateKey("the workflow already has a schedule with this expression and time zone") from exc

    def remove(self, schedule_id: str) -> None:
        selector = id_selector(None, schedule_id)
        if selector is not None:
            self._schedules.delete_one(selector)
            self._history.delete_many({"schedule_id": schedule_id})

    def get(self, team_id: str | None, schedule_id: str) -> RecurringSchedule | None:
        selector = id_selector(team_id, schedule_id)
        return None if selector is None else _recurring(self._schedules.find_one(selector))

    def list(
        self, team_id: str, workflow_id: str | None, enabled: bool | None, skip: int, limit: int
    ) -> tuple[builtins.list[RecurringSchedule], int]:
        selector: dict[str, Any] = {"team_id": team_id}
        if workflow_id is not None:
            selector["workflow_id"] = workflow_id
        if enabled is not None:
            selector["enabled"] = enabled
        documents = self._schedules.find(
            selector, sort=[("created_at", ASCENDING), ("_id", ASCENDING)], skip=skip, limit=limit
        )
        return [to_model(RecurringSchedule, document) for document in documents], self._schedules.count_documents(
            selector
        )

    def ids_for_workflow(self, team_id: str, workflow_id: str, limit: int) -> builtins.list[str]:
        documents = self._schedules.find(
            {"team_id": team_id, "workflow_id": workflow_id}, projection={"_id": 1}, limit=limit
        )
        return [str(document["_id"]) for document in documents]

    def update(self, team_id: str, schedule_id: str, fields: dict[str, Any], user_id: str) -> RecurringSchedule | None:
        selector = id_selector(team_id, schedule_id)
        if selector is None:
            return None
        try:
            document = self._schedules.find_one_and_update(
                selector,
                {"$set": {"updated_at": self._clock.now(), **fields, "updated_by": user_id}},
                return_document=ReturnDocument.BEFORE,
            )
        except DuplicateKeyError as exc:
            raise DuplicateKey("the workflow already has a schedule with this expression and time zone") from exc
        return _recurring(document)

    def restore(self, schedule_id: str, expected: dict[str, Any], previous: dict[str, Any]) -> bool:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return False
        try:
            result = self._schedules.update_one({**selector, **expected}, {"$set": previous})
        except DuplicateKeyError:
            # Another schedule took the previous expression meanwhile; the caller reports the failure.
            return False
        return result.modified_count == 1

    def start_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        row = _history_row(schedule_id, entry)
        key = {"schedule_id": schedule_id, "scheduled_time": entry.scheduled_time}
        try:
            result = self._history.update_one(
                key,
                {"$setOnInsert": {name: value for name, value in row.items() if name not in key}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # a concurrent delivery of the same firing inserted it first
        if result.upserted_id is None:
            return False
        increments = {"run_count": 1}
        if entry.status is not ExecutionStatus.RUNNING:
            increments[_counter(entry.status)] = 1
        self._bump(schedule_id, entry.scheduled_time, entry.status, increments)
        return True

    def finish_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        row = _history_row(schedule_id, entry)
        outcome = {name: row[name] for name in ("finished_at", "status", "duration_ms", "error")}
        on_insert = {name: row[name] for name in ("execution_id", "started_at")}
        try:
            result = self._history.update_one(
                {"schedule_id": schedule_id, "scheduled_time": entry.scheduled_time, "finished_at": None},
                {"$set": outcome, "$setOnInsert": on_insert},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the row exists and is already finished: this outcome was recorded before
        if result.upserted_id is None and result.modified_count == 0:
            return False
        increments = {_counter(entry.status): 1}
        if result.upserted_id is not None:
            increments["run_count"] = 1
        self._bump(schedule_id, entry.scheduled_time, entry.status, increments)
        return True

    def running_executions(self, after_id: str | None, limit: int) -> builtins.list[HistoryRow]:
        documents = self._history.find(
            {"status": ExecutionStatus.RUNNING.value, "execution_id": {"$ne": None}, **_after(after_id)},
            sort=[("_id", ASCENDING)],
            limit=limit,
        )
        return [
            HistoryRow(row_id=str(document["_id"]), schedule_id=document["schedule_id"], entry=_history(document))
            for document in documents
        ]

    def history(self, schedule_id: str, skip: int, limit: int) -> tuple[builtins.list[HistoryEntry], int]:
        selector = {"schedule_id": schedule_id}
        documents = self._history.find(selector, sort=[("scheduled_time", DESCENDING)], skip=skip, limit=limit)
        return [_history(document) for document in documents], self._history.count_documents(selector)

    def _bump(
        self, schedule_id: str, scheduled_time: datetime, status: ExecutionStatus, increments: dict[str, int]
    ) -> None:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return
        # last_run/last_status describe the latest firing; an older firing (a late retry, or the
        # outcome of a run that outlived the next firing) only moves the counters.
        latest = {"$or": [{"last_run": None}, {"last_run": {"$lte": scheduled_time}}]}
        result = self._schedules.update_one(
            {**selector, **latest},
            {"$inc": increments, "$set": {"last_run": scheduled_time, "last_status": status.value}},
        )
        if result.matched_count == 0:
            self._schedules.update_one(selector, {"$inc": increments})


def _counter(status: ExecutionStatus) -> str:
    return "success_count" if status is ExecutionStatus.SUCCESS else "failure_count"


def _history_row(schedule_id: str, entry: HistoryEntry) -> dict[str, Any]:
    return {
        "schedule_id": schedule_id,
        "scheduled_time": entry.scheduled_time,
        "execution_id": entry.execution_id,
        "started_at": entry.started_at,
        "finished_at": entry.finished_at,
        "status": entry.status.value,
        "duration_ms": entry.duration_ms,
        "error": entry.error,
    }


class MongoWorkflowNames:
    """``ports.WorkflowNames`` over the workflows collection (names only)."""

    def __init__(self, database: StoreDatabase) -> None:
        self._workflows = database[WORKFLOWS]

    def names(self, team_id: str, workflow_ids: list[str]) -> dict[str, str]:
        oids = [oid for oid in (object_id(value) for value in set(workflow_ids)) if oid is not None]
        if not oids:
            return {}
        documents = self._workflows.find(
            {"_id": {"$in": oids}, "team_id": team_id, "deleted_at": None}, projection={"name": 1}
        )
        return {str(document["_id"]): document.get("name", "") for document in documents}
