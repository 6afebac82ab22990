"""The one error a bad cdk.json context raises, worded by the dotted key it is about."""

from __future__ import annotations

from collections import defaultdict
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """The CDK context does not describe a valid deployment; the message names the key."""


def validate_context(
    model: type[Model], data: object, *, key_prefix: str, context: dict[str, object] | None = None
) -> Model:
    """``data`` validated as ``model``; a failure is a ConfigError naming each bad key under ``key_prefix``."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        # The pydantic traceback would only repeat the message, in its own terms.
        raise ConfigError(describe_problems(error, key_prefix)) from None


def describe_problems(error: ValidationError, key_prefix: str) -> str:
    """One line per problem, each starting with the dotted cdk.json key it is about."""
    unknown_keys_by_parent: dict[str, list[str]] = defaultdict(list)
    problems: list[str] = []
    details = error.errors(include_url=False)
    # A list whose items failed is then also "too short": a consequence, and only confusing to read.
    parents_of_failures = {detail["loc"][:end] for detail in details for end in range(len(detail["loc"]))}
    for detail in details:
        location = detail["loc"]
        if location in parents_of_failures:
            continue
        if detail["type"] == "extra_forbidden":
            unknown_keys_by_parent[_dotted(key_prefix, location[:-1])].append(str(location[-1]))
        else:
            problems.append(_describe(_dotted(key_prefix, location), detail))
    problems[:0] = [f"{parent}: unknown key(s) {sorted(keys)}" for parent, keys in unknown_keys_by_parent.items()]
    return "\n".join(problems)


def _describe(path: str, detail: ErrorDetails) -> str:
    if detail["type"] == "missing":
        return f"{path} is missing"
    if detail["type"] == "value_error":
        # Raised by this package's own validators, whose messages already say what was wrong.
        return f"{path}: {detail['ctx']['error']}"
    return f"{path}: {detail['msg']}, got {detail['input']!r}"


def _dotted(key_prefix: str, location: tuple[int | str, ...]) -> str:
    return ".".join([key_prefix, *map(str, location)] if key_prefix else map(str, location))
