"""Administration CLI: teams, API keys and indexes, against the database the environment names.

    python -m workflow_service.cli create-team --name "Acme" --max-concurrent-runs 10
    python -m workflow_service.cli create-key --team-id <id> --user-id alice --name "CI key"
    python -m workflow_service.cli revoke-key --key-id <id>
    python -m workflow_service.cli list-keys --team-id <id>
    python -m workflow_service.cli set-team-limit --team-id <id> --max-concurrent-runs 20
    python -m workflow_service.cli create-indexes

Set MONGODB_URI (or MONGODB_SECRET_ARN) first; every command prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workflow_service.errors import DomainError
from workflow_service.wiring import Services, services

if TYPE_CHECKING:
    from workflow_service.auth.service import CreatedKey
    from workflow_service.models.auth import Team


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workflows-admin", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    team = commands.add_parser("create-team", help="create a team (a tenant with its concurrency licence)")
    team.add_argument("--name", required=True)
    team.add_argument("--max-concurrent-runs", type=int, required=True)
    key = commands.add_parser("create-key", help="create an API key; the key is printed once")
    key.add_argument("--team-id", required=True)
    key.add_argument("--user-id", required=True)
    key.add_argument("--name", default="api key")
    revoke = commands.add_parser("revoke-key", help="revoke an API key (API Gateway may cache it for its TTL)")
    revoke.add_argument("--key-id", required=True)
    listing = commands.add_parser("list-keys", help="list a team's keys (never their values)")
    listing.add_argument("--team-id", required=True)
    limit = commands.add_parser("set-team-limit", help="change a team's max_concurrent_runs")
    limit.add_argument("--team-id", required=True)
    limit.add_argument("--max-concurrent-runs", type=int, required=True)
    commands.add_parser("create-indexes", help="create every index the service's queries use")
    return parser


def team_document(team: Team) -> dict[str, Any]:
    """What creating a team answers (here and from the local runtime's ``POST /local/teams``)."""
    return {"team_id": team.id, "name": team.name, "max_concurrent_runs": team.max_concurrent_runs}


def created_key_document(created: CreatedKey) -> dict[str, Any]:
    """What creating a key answers: the only time its value is shown."""
    return {
        "key_id": created.key.id,
        "team_id": created.key.team_id,
        "user_id": created.key.user_id,
        "api_key": created.plaintext,
        "note": "store this key now: it is not shown again",
    }


def run(argv: Sequence[str], container: Services) -> dict:
    args = _parser().parse_args(argv)
    auth = container.auth.service
    if args.command == "create-team":
        if args.max_concurrent_runs < 1:
            raise SystemExit("--max-concurrent-runs must be at least 1")
        return team_document(auth.create_team(args.name, args.max_concurrent_runs))
    if args.command == "create-key":
        return created_key_document(auth.create_key(args.team_id, args.user_id, args.name))
    if args.command == "revoke-key":
        auth.revoke_key(args.key_id)
        return {"key_id": args.key_id, "revoked": True}
    if args.command == "list-keys":
        return {
            "keys": [
                {
                    "key_id": k.id,
                    "user_id": k.user_id,
                    "name": k.name,
                    "created_at": k.created_at.isoformat(),
                    "revoked": k.revoked_at is not None,
                }
                for k in auth.list_keys(args.team_id)
            ]
        }
    if args.command == "set-team-limit":
        team = auth.set_team_limit(args.team_id, args.max_concurrent_runs)
        return {"team_id": team.id, "max_concurrent_runs": team.max_concurrent_runs}
    from workflow_service.adapters.mongo.indexes import create_indexes

    return {"indexes": create_indexes(container.core.database)}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        print(json.dumps(run(sys.argv[1:] if argv is None else argv, services()), indent=2))
    except DomainError as error:
        print(json.dumps({"error": error.message}), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
