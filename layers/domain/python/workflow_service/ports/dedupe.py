"""Dedupe records: one per (source, key), kept apart from what they protect (collection ``dedupe_records``).

A record remembers that a delivery (a webhook id, an SQS message id, a schedule firing) or a
request (an ``Idempotency-Key``) was seen, and which object it made, until ``expires_at``. It lives
apart from the object, so deleting a run or a schedule never re-opens its key.

The record is reserved *before* the object is written, with the object's pre-generated id, so a
retry after a crash between the two writes finds the record and writes the same object again
(converging on one object), instead of making a second one. Every write is a single-document
conditional write; nothing needs a transaction.

A removal is remembered the same way (``Removals``): a keyed create's retry that finds no object
under the id its key reserved must tell "never made" (continue the create) from "deleted since"
(make nothing again), and the object itself is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from workflow_service.errors import Conflict

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock


class DedupeState(StrEnum):
    RESERVED = "reserved"
    """The key is taken and ``target_id`` chosen; the object may or may not exist yet."""
    CREATED = "created"
    """The object was made (and, for an idempotency key, its answer stored)."""


class DedupeRecord(NamedTuple):
    """What a key stands for. ``fingerprint`` identifies the request that took an idempotency key;
    ``answer_status``/``answer_body`` are its first answer, once stored."""

    source: str
    key: str
    target_id: str
    state: DedupeState
    expires_at: datetime
    fingerprint: str | None = None
    answer_status: int | None = None
    answer_body: Any = None

    @property
    def created(self) -> bool:
        return self.state is DedupeState.CREATED


class AlreadyProcessed(Conflict):
    """A duplicate delivery whose first delivery's object no longer exists (a deleted run).

    The delivery was handled once; handling it again would re-open a key its producer relies on, so
    callers treat it as an accepted duplicate: nothing is made and nothing should be retried.
    """

    def __init__(self, source: str, key: str, target_id: str) -> None:
        super().__init__(f"{source} {key} was already processed (it made {target_id}, since deleted)")
        self.source = source
        self.key = key
        self.target_id = target_id


class DeletedSince(Conflict):
    """A create retried with its ``Idempotency-Key`` (its first answer never stored) whose object was
    deleted since: it is not made again (409, and the key stays taken, standing for that object)."""

    def __init__(self, kind: str, object_id: str, another: str = "create another") -> None:
        super().__init__(
            f"{kind} {object_id}, which this request created, has been deleted since; it is not created again "
            f"(send the request with a new Idempotency-Key to {another})"
        )
        self.object_id = object_id


class DedupeRecords(Protocol):
    """The dedupe-record store. A record past ``expires_at`` counts as absent (the TTL index removes
    it later; MongoDB's TTL monitor runs about once a minute, so reads never rely on it)."""

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
        """Take (source, key) for ``target_id``, or return the record that holds it.

        The returned record's ``target_id`` is ``target_id`` exactly when this call took the key (or
        replaced an expired record); otherwise it is the earlier holder's, to be used instead.
        """
        ...

    def get(self, source: str, key: str, *, now: datetime) -> DedupeRecord | None:
        """The unexpired record of (source, key), if any."""
        ...

    def mark_created(
        self, source: str, key: str, target_id: str, *, answer_status: int | None = None, answer_body: Any = None
    ) -> None:
        """Record that ``target_id`` was made (with its first answer); a no-op unless the record is
        still held for ``target_id``."""
        ...

    def release(self, source: str, key: str, target_id: str) -> None:
        """Give the key up again, only while still ``reserved`` for ``target_id`` (the request failed
        before making anything)."""
        ...


class DedupeWindows(NamedTuple):
    """How long a key of each source is remembered (seconds): ``by_source`` where given, else
    ``default_seconds`` (settings ``DEDUPE_WINDOW_SECONDS``, 24 h)."""

    default_seconds: int = 86400
    by_source: Mapping[str, int] = MappingProxyType({})

    def seconds_for(self, source: str) -> int:
        return self.by_source.get(source, self.default_seconds)


class Removals:
    """The ids of removed objects of one kind, remembered for a window as dedupe records (source
    ``source``, one per id), apart from the objects, like every key's record.

    A create retried with the id its ``Idempotency-Key`` reserved asks ``was_removed`` when it finds
    no object with that id: the object was then deleted since (``DeletedSince``), not never made.
    The window must be at least the key's (``DEDUPE_WINDOW_SECONDS``): a key outliving the memory of
    its object's removal would make the object again.
    """

    def __init__(self, records: DedupeRecords, clock: Clock, source: str, window_seconds: int = 86400) -> None:
        self._records = records
        self._clock = clock
        self._source = source
        self._window = timedelta(seconds=window_seconds)

    def remember(self, object_id: str) -> None:
        """Record that ``object_id`` is removed. Call it before the removal, so that no crash in between
        can forget it (a removal that then fails leaves the object, which a retry finds first)."""
        now = self._clock.now()
        self._records.reserve(self._source, object_id, object_id, now=now, expires_at=now + self._window)

    def was_removed(self, object_id: str) -> bool:
        """Whether ``remember`` recorded ``object_id`` within the window."""
        return self._records.get(self._source, object_id, now=self._clock.now()) is not None
