"""Teams (the tenant, with its licensed concurrency) and their API keys."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Team(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    name: str
    max_concurrent_runs: int = Field(ge=1)
    created_at: datetime


class ApiKey(BaseModel):
    """A stored key: only its SHA-256 hash is kept; the plaintext is shown once at creation."""

    model_config = ConfigDict(defer_build=True)

    id: str
    key_hash: str
    team_id: str
    user_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
