"""Dedupe records in MongoDB (collection ``dedupe_records``), ``ports.DedupeRecords``.

One document per (source, key), ``_id`` = ``"<source>:<key>"``, so taking a key is one insert that
the ``_id`` index makes atomic. ``expires_at`` carries a TTL index (``expireAfterSeconds: 0``:
removed once that instant passes). The TTL monitor runs about once a minute, so an expired record
may still be read: every read compares ``expires_at`` with the caller's ``now`` instead, and a
reservation replaces an expired record with one conditional update.

(mongomock 4.3.0 applies the TTL index on every read against the wall clock, not the service's
clock: a record whose ``expires_at`` is in the real past vanishes at once. Tests' clocks start in
2030, so their records stay, and expiry is tested through ``now``.)

The first answer of an idempotent request is stored as JSON text: a body's keys may hold ``.`` or
``$``, which MongoDB field names do not take everywhere.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from workflow_service.ports.dedupe import DedupeRecord, DedupeState

if TYPE_CHECKING:
    from workflow_service.adapters.mongo.store import StoreDatabase

DEDUPE_RECORDS = "dedupe_records"
# A reservation that collides with a record the TTL monitor removes meanwhile simply tries again.
_RESERVE_ATTEMPTS = 3

INDEXES: dict[str, list[dict[str, Any]]] = {
    DEDUPE_RECORDS: [
        {"keys": [("expires_at", ASCENDING)], "name": "expire_at_expires_at", "expireAfterSeconds": 0},
    ],
}


def _record_id(source: str, key: str) -> str:
    return f"{source}:{key}"


def _record(document: dict[str, Any]) -> DedupeRecord:
    answer = document.get("answer_json")
    return DedupeRecord(
        source=document["source"],
        key=document["key"],
        target_id=document["target_id"],
        state=DedupeState(document["state"]),
        expires_at=document["expires_at"],
        fingerprint=document.get("fingerprint"),
        answer_status=document.get("answer_status"),
        answer_body=None if answer is None else json.loads(answer),
    )


class MongoDedupeRecords:
    def __init__(self, database: StoreDatabase) -> None:
        self._records = database[DEDUPE_RECORDS]

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
        record_id = _record_id(source, key)
        fields = {
            "source": source,
            "key": key,
            "target_id": target_id,
            "state": DedupeState.RESERVED.value,
            "fingerprint": fingerprint,
            "answer_status": None,
            "answer_json": None,
            "reserved_at": now,
            "expires_at": expires_at,
        }
        for _ in range(_RESERVE_ATTEMPTS):
            try:
                self._records.insert_one({"_id": record_id, **fields})
                return _record({"_id": record_id, **fields})
            except DuplicateKeyError:
                pass
            replaced = self._records.find_one_and_update(
                {"_id": record_id, "expires_at": {"$lte": now}},
                {"$set": fields},
                return_document=ReturnDocument.AFTER,
            )
            if replaced is not None:
                return _record(replaced)
            current = self._records.find_one({"_id": record_id})
            if current is not None:
                return _record(current)
        raise RuntimeError(f"dedupe record {record_id} kept vanishing while being reserved")

    def get(self, source: str, key: str, *, now: datetime) -> DedupeRecord | None:
        document = self._records.find_one({"_id": _record_id(source, key), "expires_at": {"$gt": now}})
        return None if document is None else _record(document)

    def mark_created(
        self, source: str, key: str, target_id: str, *, answer_status: int | None = None, answer_body: Any = None
    ) -> None:
        answer = None if answer_status is None else json.dumps(answer_body, separators=(",", ":"))
        self._records.update_one(
            {"_id": _record_id(source, key), "target_id": target_id},
            {"$set": {"state": DedupeState.CREATED.value, "answer_status": answer_status, "answer_json": answer}},
        )

    def release(self, source: str, key: str, target_id: str) -> None:
        self._records.delete_one(
            {"_id": _record_id(source, key), "target_id": target_id, "state": DedupeState.RESERVED.value}
        )
