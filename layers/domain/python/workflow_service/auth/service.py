"""API keys: creation (plaintext shown once), hashing, authentication and revocation."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, NamedTuple

from workflow_service.errors import FieldProblem, NotFound, Unauthorized, ValidationFailed
from workflow_service.models.auth import ApiKey, Team
from workflow_service.models.common import new_object_id

if TYPE_CHECKING:
    from workflow_service.ports.auth import ApiKeyRepository, TeamRepository
    from workflow_service.ports.clock import Clock

KEY_PREFIX = "wfk_"


def hash_api_key(plaintext: str) -> str:
    """Keys are 256-bit random tokens, so an unsalted SHA-256 is not brute-forceable and allows lookup."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def bearer_token(authorization_header: str | None) -> str:
    """The key in ``Authorization: Bearer <key>``; Unauthorized when absent or malformed."""
    if not authorization_header:
        raise Unauthorized("missing Authorization header")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header must be 'Bearer <api key>'")
    return token.strip()


class CreatedKey(NamedTuple):
    key: ApiKey
    plaintext: str


class Identity(NamedTuple):
    team_id: str
    user_id: str
    key_id: str


class AuthService:
    """Teams and API keys. The authorizer calls ``authenticate``; the CLI calls the rest."""

    def __init__(self, teams: TeamRepository, keys: ApiKeyRepository, clock: Clock) -> None:
        self._teams = teams
        self._keys = keys
        self._clock = clock

    def create_team(self, name: str, max_concurrent_runs: int, team_id: str | None = None) -> Team:
        team = Team(
            id=team_id or new_object_id(),
            name=name,
            max_concurrent_runs=max_concurrent_runs,
            created_at=self._clock.now(),
        )
        self._teams.insert(team)
        return team

    def get_team(self, team_id: str) -> Team:
        team = self._teams.get(team_id)
        if team is None:
            raise NotFound("team", team_id)
        return team

    def set_team_limit(self, team_id: str, max_concurrent_runs: int) -> Team:
        """Change the team's licence. Raises ValidationFailed below 1, before writing: a stored 0 could
        not be read back as a Team, and every later read of the team would fail."""
        if max_concurrent_runs < 1:
            raise ValidationFailed(
                FieldProblem(("max_concurrent_runs",), "must be at least 1", "greater_than_equal", max_concurrent_runs)
            )
        team = self._teams.set_max_concurrent_runs(team_id, max_concurrent_runs)
        if team is None:
            raise NotFound("team", team_id)
        return team

    def create_key(self, team_id: str, user_id: str, name: str, plaintext: str | None = None) -> CreatedKey:
        """A new key for ``team_id``. ``plaintext`` pins the key (the local dev key); normally random."""
        self.get_team(team_id)
        plaintext = plaintext or f"{KEY_PREFIX}{secrets.token_urlsafe(32)}"
        key = ApiKey(
            id=new_object_id(),
            key_hash=hash_api_key(plaintext),
            team_id=team_id,
            user_id=user_id,
            name=name,
            created_at=self._clock.now(),
        )
        self._keys.insert(key)
        return CreatedKey(key=key, plaintext=plaintext)

    def revoke_key(self, key_id: str) -> None:
        if not self._keys.revoke(key_id, self._clock.now()):
            raise NotFound("api key", key_id)

    def list_keys(self, team_id: str) -> list[ApiKey]:
        return self._keys.list_for_team(team_id)

    def authenticate(self, authorization_header: str | None) -> Identity:
        key = self._keys.find_active_by_hash(hash_api_key(bearer_token(authorization_header)))
        if key is None:
            raise Unauthorized("unknown or revoked API key")
        return Identity(team_id=key.team_id, user_id=key.user_id, key_id=key.id)

    def ensure_key(self, team_name: str, max_concurrent_runs: int, user_id: str, plaintext: str) -> Identity:
        """Idempotently provision a team owning ``plaintext`` (the local runtime's development key)."""
        existing = self._keys.find_active_by_hash(hash_api_key(plaintext))
        if existing is not None:
            return Identity(team_id=existing.team_id, user_id=existing.user_id, key_id=existing.id)
        team = self.create_team(team_name, max_concurrent_runs)
        created = self.create_key(team.id, user_id, "development key", plaintext=plaintext)
        return Identity(team_id=team.id, user_id=user_id, key_id=created.key.id)
