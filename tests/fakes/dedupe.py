"""In-memory ``ports.DedupeRecords``; tests/contract/mongo/test_dedupe_records.py holds it and
``MongoDedupeRecords`` to the same assertions."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from workflow_service.ports.dedupe import DedupeRecord, DedupeState


class InMemoryDedupeRecords:
    """Records by (source, key)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], DedupeRecord] = {}

    def reserve(
        self,
        source: str,
        key: str,
        target_id: str,
        *,
        now: datetime,
        expires_at: datetime,
        fingerprint: str | None = None,
    ) -> DedupeRecord:
        current = self.records.get((source, key))
        if current is not None and current.expires_at > now:
            return current
        record = DedupeRecord(source, key, target_id, DedupeState.RESERVED, expires_at, fingerprint)
        self.records[(source, key)] = record
        return record

    def get(self, source: str, key: str, *, now: datetime) -> DedupeRecord | None:
        current = self.records.get((source, key))
        return current if current is not None and current.expires_at > now else None

    def mark_created(
        self, source: str, key: str, target_id: str, *, answer_status: int | None = None, answer_body: Any = None
    ) -> None:
        current = self.records.get((source, key))
        if current is None or current.target_id != target_id:
            return
        self.records[(source, key)] = current._replace(
            state=DedupeState.CREATED,
            answer_status=answer_status,
            answer_body=None if answer_status is None else copy.deepcopy(answer_body),
        )

    def release(self, source: str, key: str, target_id: str) -> None:
        current = self.records.get((source, key))
        if current is not None and current.target_id == target_id and current.state is DedupeState.RESERVED:
            del self.records[(source, key)]
