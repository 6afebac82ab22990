"""Concurrency slots (DESIGN.md section 5): the stored leases and the run-work messages; the public
overview of them is in ``models.concurrency_overview``."""

import secrets
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflow_service.models.common import ObjectIdStr


class LeaseScope(StrEnum):
    TEAM = "team"
    WORKFLOW = "workflow"


def lease_key(scope: LeaseScope, owner_id: str) -> str:
    """The lease document id of a team (``team:<id>``) or a workflow (``workflow:<id>``)."""
    return f"{scope.value}:{owner_id}"


class Lease(BaseModel):
    """One lease document: the runs holding a slot of a team or of a workflow.

    ``holders`` keeps the stored array's order (acquisition order); each value is when that run
    (last) acquired its slot, None if the document lacks it. ``tokens`` holds the token of each
    holder's last acquisition (absent for a holder the document has none for).
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    key: str
    scope: LeaseScope
    team_id: str
    workflow_id: str | None = None
    holders: dict[str, datetime | None] = Field(default_factory=dict)
    tokens: dict[str, str] = Field(default_factory=dict)


class HoldResult(BaseModel):
    """Outcome of one attempt to hold a lease: granted with the token this acquisition wrote, or
    refused with the holders that fill it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    granted: bool
    holders: tuple[str, ...] = ()
    token: str = ""
    # Granted to a run that already held the slot (a concurrent or earlier acquisition of the same run):
    # the entry is not this acquisition's alone, so a refusal further on must not give it back.
    regranted: bool = False


def new_lease_token() -> str:
    """A fresh acquisition token: every grant writes one, so a later release can tell its own grant
    from a newer one of the same run."""
    return secrets.token_hex(8)


class InvalidWorkMessage(ValueError):
    """A work-queue message this service cannot have sent (the worker reports it as a batch item failure)."""


class WorkMessage(BaseModel):
    """The body of a run-work queue message: run the first turn of ``run_id``.

    Producers (``ports.WorkQueue`` adapters) and the run worker share this shape so they cannot drift.
    """

    # Unknown fields are ignored so a newer producer's extra field does not poison an older worker.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    run_id: ObjectIdStr

    def to_body(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_body(cls, body: str) -> "WorkMessage":
        """The message in ``body``; InvalidWorkMessage says what is wrong otherwise."""
        try:
            return cls.model_validate_json(body)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, item['loc'])) or 'body'}: {item['msg']}"
                for item in error.errors(include_url=False)
            )
            raise InvalidWorkMessage(problems) from None
