"""Recurring schedules and their execution history in MongoDB (``ports.RecurringScheduleRepository``).

- ``recurring_schedules``: the public ``RecurringSchedule`` fields except the computed ``next_run``
  and ``workflow_name``, plus the generation fields (``schedule_generations``). A unique index on
  (team, workflow, expression, time zone) enforces "one schedule per workflow, expression and zone"
  under concurrent creates (seed 002's 409). A deleted schedule is a tombstone (``deleted_at`` set)
  until AWS has deleted its schedule: every read the API makes skips tombstones.
- ``recurring_schedule_history``: one row per (schedule, scheduled time), unique, so a duplicate
  delivery can never add a second row; rows expire after ``HISTORY_RETENTION_DAYS``.
- a removed schedule's id is remembered for the dedupe window as a dedupe record (``dedupe_records``,
  source ``removed_recurring_schedule``), apart from the schedule, like every key's record.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.adapters.mongo import schedule_generations as generations
from workflow_service.adapters.mongo.dedupe import MongoDedupeRecords
from workflow_service.adapters.mongo.documents import id_selector, object_id, stored_id, to_model, to_model_or_none
from workflow_service.adapters.mongo.history_counts import OWED, HistoryCounts
from workflow_service.adapters.mongo.schedule_generations import HISTORY, RECURRING
from workflow_service.models.recurring import ExecutionStatus, HistoryEntry, HistoryRow, RecurringSchedule
from workflow_service.ports.dedupe import Removals
from workflow_service.ports.errors import DuplicateKey

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase
    from workflow_service.ports.clock import Clock

_RECURRING_TIME_FIELDS = ("created_at", "updated_at", "last_run", "start_at", "end_at")
_COMPUTED_RECURRING_FIELDS = {"next_run", "workflow_name"}
_LIVE = {"deleted_at": None}
# What a backfill's run of an occurrence that ran nothing replaces on its row.
_RESTARTED_FIELDS = (
    "execution_id",
    "started_at",
    "finished_at",
    "status",
    "duration_ms",
    "error",
    "reason",
    "backfill",
)
_DUPLICATE = "the workflow already has a schedule with this expression and time zone"
REMOVED_SOURCE = "removed_recurring_schedule"


def _recurring(document: dict[str, Any] | None) -> RecurringSchedule | None:
    return to_model_or_none(RecurringSchedule, document)


def _history(document: dict[str, Any]) -> HistoryEntry:
    return HistoryEntry.model_validate(document)


def _after(after_id: str | None) -> dict[str, Any]:
    """The paging condition of a sweep by ``_id`` (an id that is not an ObjectId pages from the start)."""
    oid = object_id(after_id) if after_id is not None else None
    return {} if oid is None else {"_id": {"$gt": oid}}


class MongoRecurringScheduleRepository:
    """``ports.RecurringScheduleRepository``."""

    def __init__(self, database: StoreDatabase, clock: Clock, removal_window_seconds: int = 86400) -> None:
        """``removal_window_seconds``: how long ``was_removed`` remembers a removed schedule (at least
        the Idempotency-Key window, ``DEDUPE_WINDOW_SECONDS``)."""
        self._schedules = database[RECURRING]
        self._history = database[HISTORY]
        self._counts = HistoryCounts(self._schedules, self._history)
        self._removals = Removals(MongoDedupeRecords(database), clock, REMOVED_SOURCE, removal_window_seconds)
        self._clock = clock

    def insert(self, schedule: RecurringSchedule) -> None:
        exclude = set(_RECURRING_TIME_FIELDS) | _COMPUTED_RECURRING_FIELDS
        document = schedule.model_dump(by_alias=True, mode="json", exclude=exclude)
        document.update({name: getattr(schedule, name) for name in _RECURRING_TIME_FIELDS})
        document.update(_dst_plan_fields(schedule))
        document.update(
            generations.generation_fields(schedule.desired_generation, schedule.applied_generation, self._clock.now()),
            deleted_at=None,
        )
        document["_id"] = stored_id(schedule.id)
        try:
            self._schedules.insert_one(document)
        except DuplicateKeyError as exc:
            raise DuplicateKey(_DUPLICATE) from exc

    def remove(self, schedule_id: str) -> None:
        selector = id_selector(None, schedule_id)
        if selector is not None:
            # Remembered before the record goes, so that no crash in between can forget it.
            self._removals.remember(schedule_id)
            self._schedules.delete_one(selector)
            self._history.delete_many({"schedule_id": schedule_id})

    def was_removed(self, schedule_id: str) -> bool:
        return self._removals.was_removed(schedule_id)

    def adopt(self, schedule_id: str) -> bool:
        return generations.adopt(self._schedules, schedule_id)

    def remove_unless_adopted(self, schedule_id: str) -> bool:
        if not generations.remove_unadopted(self._schedules, schedule_id):
            return False
        self._history.delete_many({"schedule_id": schedule_id})
        return True

    def get(self, team_id: str | None, schedule_id: str) -> RecurringSchedule | None:
        selector = id_selector(team_id, schedule_id)
        return None if selector is None else _recurring(self._schedules.find_one({**selector, **_LIVE}))

    def get_any(self, schedule_id: str) -> RecurringSchedule | None:
        selector = id_selector(None, schedule_id)
        return None if selector is None else _recurring(self._schedules.find_one(selector))

    def list(
        self, team_id: str, workflow_id: str | None, enabled: bool | None, skip: int, limit: int
    ) -> tuple[builtins.list[RecurringSchedule], int]:
        selector: dict[str, Any] = {"team_id": team_id, **_LIVE}
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
            {"team_id": team_id, "workflow_id": workflow_id, **_LIVE}, projection={"_id": 1}, limit=limit
        )
        return [str(document["_id"]) for document in documents]

    def update(
        self,
        team_id: str,
        schedule_id: str,
        fields: dict[str, Any],
        user_id: str,
        *,
        bump: bool = False,
        expected: dict[str, Any] | None = None,
    ) -> RecurringSchedule | None:
        selector = id_selector(team_id, schedule_id)
        if selector is None:
            return None
        now = self._clock.now()
        changes = {"updated_at": now, **fields, "updated_by": user_id}
        update = generations.with_bump(changes, now) if bump else {"$set": changes}
        try:
            document = self._schedules.find_one_and_update(
                {**selector, **_LIVE, **(expected or {})}, update, return_document=ReturnDocument.BEFORE
            )
        except DuplicateKeyError as exc:
            raise DuplicateKey(_DUPLICATE) from exc
        return _recurring(document)

    def restore(
        self, schedule_id: str, expected: dict[str, Any], previous: dict[str, Any], *, bump: bool = False
    ) -> bool:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return False
        update = generations.with_bump(previous, self._clock.now()) if bump else {"$set": previous}
        try:
            result = self._schedules.update_one({**selector, **_LIVE, **expected}, update)
        except DuplicateKeyError:
            # Another schedule took the previous expression meanwhile; the caller reports the failure.
            return False
        return result.modified_count == 1

    def tombstone(self, team_id: str | None, schedule_id: str) -> RecurringSchedule | None:
        selector = id_selector(team_id, schedule_id)
        if selector is None:
            return None
        now = self._clock.now()
        document = self._schedules.find_one_and_update(
            {**selector, **_LIVE},
            generations.with_bump({"deleted_at": now}, now),
            return_document=ReturnDocument.AFTER,
        )
        return _recurring(document)

    def revive(self, schedule_id: str, generation: int) -> bool:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return False
        result = self._schedules.update_one(
            {**selector, "deleted_at": {"$ne": None}, "desired_generation": generation},
            generations.with_bump({"deleted_at": None}, self._clock.now()),
        )
        return result.modified_count == 1

    def tombstone_in_the_way(self, team_id: str, workflow_id: str, cron_expression: str, timezone: str) -> str | None:
        document = self._schedules.find_one(
            {
                "team_id": team_id,
                "workflow_id": workflow_id,
                "cron_expression": cron_expression,
                "timezone": timezone,
                "deleted_at": {"$ne": None},
            },
            projection={"_id": 1},
        )
        return None if document is None else str(document["_id"])

    def record_applied(self, schedule_id: str, generation: int) -> bool:
        return generations.record_applied(self._schedules, schedule_id, generation)

    def mark_stale(self, schedule_id: str, generation: int) -> bool:
        return generations.mark_stale(self._schedules, schedule_id, generation, self._clock.now())

    def needing_push(
        self, changed_before: datetime, after_id: str | None, limit: int
    ) -> builtins.list[RecurringSchedule]:
        documents = self._schedules.find(
            generations.needing_push_selector(changed_before, after_id), sort=[("_id", ASCENDING)], limit=limit
        )
        return [to_model(RecurringSchedule, document) for document in documents]

    def existing_ids(self, ids: builtins.list[str]) -> set[str]:
        return generations.existing_ids(self._schedules, ids)

    def get_many(self, ids: builtins.list[str]) -> builtins.list[RecurringSchedule]:
        oids = [oid for oid in (object_id(value) for value in ids) if oid is not None]
        if not oids:
            return []
        return [to_model(RecurringSchedule, document) for document in self._schedules.find({"_id": {"$in": oids}})]

    def dst_review_due(self, before: datetime, after_id: str | None, limit: int) -> builtins.list[RecurringSchedule]:
        documents = self._schedules.find(
            {"dst_review_at": {"$lte": before}, **_after(after_id), **_LIVE},
            sort=[("_id", ASCENDING)],
            limit=limit,
        )
        return [to_model(RecurringSchedule, document) for document in documents]

    def set_dst_plan(self, schedule_id: str, generation: int, fields: dict[str, Any], *, bump: bool) -> bool:
        selector = id_selector(None, schedule_id)
        if selector is None:
            return False
        update = generations.with_bump(fields, self._clock.now()) if bump else {"$set": fields}
        result = self._schedules.update_one({**selector, **_LIVE, "desired_generation": generation}, update)
        return result.modified_count == 1

    def start_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        row = _history_row(schedule_id, entry)
        key = {"schedule_id": schedule_id, "scheduled_time": entry.scheduled_time}
        if entry.status is not ExecutionStatus.SKIPPED:  # a skipped firing started nothing: no run to count
            increments = {"run_count": 1}
            if entry.status is not ExecutionStatus.RUNNING:
                increments[_counter(entry.status)] = 1
            row[OWED] = {"start": increments}
        try:
            result = self._history.update_one(
                key,
                {"$setOnInsert": {name: value for name, value in row.items() if name not in key}},
                upsert=True,
            )
        except DuplicateKeyError:
            result = None  # a concurrent delivery of the same firing inserted it first
        if result is None or result.upserted_id is None:
            self._counts.settle_where(key)  # the first writer may have died before applying its counts
            return False
        self._counts.settle({**row, "_id": result.upserted_id})
        return True

    def decided_execution(self, schedule_id: str, scheduled_time: datetime) -> HistoryEntry | None:
        document = self._history.find_one({"schedule_id": schedule_id, "scheduled_time": scheduled_time})
        if document is None:
            return None
        self._counts.settle(document)  # the row's first writer may have died before applying its counts
        return _history(document)

    def finish_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        row = _history_row(schedule_id, entry)
        outcome = {name: row[name] for name in ("finished_at", "status", "duration_ms", "error")}
        on_insert = {name: row[name] for name in ("execution_id", "started_at")}
        key = {"schedule_id": schedule_id, "scheduled_time": entry.scheduled_time}
        try:
            document = self._history.find_one_and_update(
                {**key, "finished_at": None},
                {
                    "$set": {**outcome, f"{OWED}.finish": {_counter(entry.status): 1}},
                    # The outcome arrived before the firing's own write: this row counts the run too.
                    "$setOnInsert": {**on_insert, f"{OWED}.start": {"run_count": 1}},
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            document = None  # the row exists and is already finished: this outcome was recorded before
        if document is None:
            self._counts.settle_where(key)
            return False
        self._counts.settle(document)
        return True

    def restart_execution(self, schedule_id: str, entry: HistoryEntry) -> bool:
        row = _history_row(schedule_id, entry)
        started = {name: row[name] for name in _RESTARTED_FIELDS}
        key = {"schedule_id": schedule_id, "scheduled_time": entry.scheduled_time, "execution_id": None}
        # A skipped occurrence counted no run; a failed start counted a run and a failure, and is no
        # longer a failure once its run exists.
        for was, increments in (
            (ExecutionStatus.SKIPPED, {"run_count": 1}),
            (ExecutionStatus.FAILED, {"failure_count": -1}),
        ):
            document = self._history.find_one_and_update(
                {**key, "status": was.value},
                {"$set": {**started, f"{OWED}.restart": increments}},
                return_document=ReturnDocument.AFTER,
            )
            if document is not None:
                self._counts.settle(document)
                return True
        return False

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

    def owing_counts(self, after_id: str | None, limit: int) -> builtins.list[str]:
        return self._counts.owing(after_id, limit)

    def settle_counts(self, row_ids: builtins.list[str]) -> int:
        return self._counts.settle_ids(row_ids)


def _dst_plan_fields(schedule: RecurringSchedule) -> dict[str, Any]:
    # Internal fields, left out of the model's dump: stored as dates so the review sweep can range over them.
    return {
        "dst_compensations": list(schedule.dst_compensations),
        "dst_planned_until": schedule.dst_planned_until,
        "dst_review_at": schedule.dst_review_at,
    }


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
        "reason": entry.reason,
        "backfill": entry.backfill,
    }
