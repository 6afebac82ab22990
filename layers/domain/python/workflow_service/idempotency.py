"""Idempotent creates: the ``Idempotency-Key`` request header on the create endpoints.

Semantics follow draft-ietf-httpapi-idempotency-key-header and Stripe's idempotent requests:

- the key is the client's, scoped per team and route: another team (or another create route) may
  use the same text independently;
- within the window (``DEDUPE_WINDOW_SECONDS``, 24 h) a retry with the same key and the same request
  (path and JSON body, compared by a SHA-256 fingerprint of their canonical JSON) gets the first
  answer again, status and body, and creates nothing (the replay carries ``Idempotent-Replayed: true``);
- the same key with a different request is refused, naming the header: 422 as the draft says
  (section 2.7), in ``/api/v1/schedules`` its validation status, 400;
- a request refused for what it asks (a validation problem, a missing workflow) stores no answer, as
  Stripe does not, so the key can be used again once the request is fixed. Only the request that
  reserved the key releases it: a duplicate sent while the first is still running must not delete the
  first's reservation (its answer would never be stored, and a retry would apply the request again).
  A conflict keeps the key: it depends on the moment, not on the request, and may come after the
  create wrote (a run whose first turn was discarded because it was stopped meanwhile); the same
  request with the key continues that create.

Crash safety, with single-document writes: the key's dedupe record is reserved with the new
object's id *before* the create, and the create makes the object with exactly that id (or returns
the one that exists). A retry after a crash anywhere in the create therefore continues the same
create and converges on one object; the answer is stored once the create has returned. A retry
after the object was deleted replays the stored answer, or, if none was stored, must not make the
object again: a schedule create then answers with the schedule as it is (a one-time schedule's cancel
keeps it) or 409 (a deleted recurring schedule, whose removal is remembered for the window), a run
start 409 (a deleted run, likewise: ``ports.dedupe.Removals``, ``DeletedSince``). A create tells the
two apart only on a retry (``retry``), so a first request pays no read for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from workflow_service.errors import BadRequest, FieldProblem, NotFound, ValidationFailed
from workflow_service.models.common import new_object_id

if TYPE_CHECKING:
    from workflow_service.ports.clock import Clock
    from workflow_service.ports.dedupe import DedupeRecords

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_SOURCE = "idempotency"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# Refusals of the request itself, raised before the create wrote anything: the key is released.
_REFUSED_BEFORE_WRITING = (ValidationFailed, BadRequest, NotFound)


def idempotency_key_problem(value: str) -> str | None:
    """Why ``value`` cannot be an Idempotency-Key (None when it can): 1 to 255 printable ASCII characters."""
    if not value:
        return f"{IDEMPOTENCY_KEY_HEADER} must not be empty"
    if len(value) > MAX_IDEMPOTENCY_KEY_LENGTH:
        return f"{IDEMPOTENCY_KEY_HEADER} must be at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters"
    if not all(" " <= character <= "~" for character in value):
        return f"{IDEMPOTENCY_KEY_HEADER} must be printable ASCII"
    return None


class CreateAnswer(NamedTuple):
    """What a create answered: the status and JSON body; ``replayed`` for the stored first answer."""

    status: int
    body: Any
    replayed: bool = False


def request_fingerprint(request: Any) -> str:
    """SHA-256 of the request's canonical JSON (sorted keys), so key order and spacing do not matter."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class IdempotentCreate:
    """Runs a create at most once per (team, route, Idempotency-Key) within the window."""

    def __init__(self, records: DedupeRecords, clock: Clock, window_seconds: int = 86400) -> None:
        self._records = records
        self._clock = clock
        self._window = timedelta(seconds=window_seconds)

    def create(
        self,
        *,
        team_id: str,
        route: str,
        key: str | None,
        request: Any,
        status: int,
        create: Callable[[str | None], Any],
        retry: Callable[[str], Any] | None = None,
    ) -> CreateAnswer:
        """Answer ``request`` with ``create(object_id)`` (the JSON body of the object it made with exactly
        that id, or of the one that exists with it), or with the first answer for ``key``.

        Without a key, ``create(None)`` lets the create choose the id. ``retry`` (``create`` when not
        given) continues the create when an earlier request took the key and stored no answer (it died,
        was refused after writing, or is still running): the object may exist, or have been deleted
        since. Raises ValidationFailed on the ``Idempotency-Key`` header when the key was used with
        another request.
        """
        if key is None:
            return CreateAnswer(status, create(None))
        fingerprint = request_fingerprint(request)
        now = self._clock.now()
        scoped_key = f"{team_id}:{route}:{key}"
        proposed_id = new_object_id()
        record = self._records.reserve(
            IDEMPOTENCY_SOURCE,
            scoped_key,
            proposed_id,
            now=now,
            expires_at=now + self._window,
            fingerprint=fingerprint,
        )
        if record.fingerprint != fingerprint:
            raise ValidationFailed(
                FieldProblem(
                    ("header", IDEMPOTENCY_KEY_HEADER),
                    f"this {IDEMPOTENCY_KEY_HEADER} was already used with a different request; "
                    "send the same request to get its answer, or use a new key",
                    "idempotency_key_reused",
                )
            )
        if record.created and record.answer_status is not None:
            return CreateAnswer(record.answer_status, record.answer_body, replayed=True)
        reserved_here = record.target_id == proposed_id
        try:
            body = create(record.target_id) if reserved_here or retry is None else retry(record.target_id)
        except _REFUSED_BEFORE_WRITING:
            if reserved_here:  # only the request that reserved the key releases it (see the module docstring)
                self._records.release(IDEMPOTENCY_SOURCE, scoped_key, record.target_id)
            raise
        self._records.mark_created(
            IDEMPOTENCY_SOURCE, scoped_key, record.target_id, answer_status=status, answer_body=body
        )
        return CreateAnswer(status, body)
