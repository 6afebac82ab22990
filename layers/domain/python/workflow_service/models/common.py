"""Shared field types and the audit base every stored object's public shape uses."""

from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple

from bson import ObjectId
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints

from workflow_service.errors import FieldProblem, ValidationFailed

OBJECT_ID_PATTERN = r"^[0-9a-f]{24}$"

# The constraint comes before the ObjectId conversion so that it is part of the string schema itself,
# and so of the published JSON Schema (a constraint after a validator is checked but not published).
ObjectIdStr = Annotated[
    str,
    StringConstraints(pattern=OBJECT_ID_PATTERN),
    BeforeValidator(lambda v: str(v) if isinstance(v, ObjectId) else v),
    Field(examples=["5eb7cf5a86d9755df3a6c593"]),
]


def refuse_null(value: Any) -> Any:
    """For an optional request field whose absence means "unchanged": an explicit null is refused.

    Call it from a ``field_validator`` of those fields (defaults are not validated, so only an
    explicit null reaches it); the OpenAPI generator then publishes the field as not nullable.
    """
    if value is None:
        raise ValueError("cannot be null; omit the field to leave it unchanged")
    return value


def format_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix; milliseconds only when present."""
    value = as_utc(value)
    timespec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.isoformat(timespec=timespec).replace("+00:00", "Z")


def as_utc(value: datetime) -> datetime:
    """Stored datetimes come back naive (BSON dates are UTC); API inputs must already be aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else _in_utc(value)


def _in_utc(value: datetime) -> datetime:
    # 9999-12-31T23:59:59-12:00 is a valid input whose UTC instant is past year 9999: a validation
    # error (422 naming the field), not an OverflowError out of astimezone.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates (years 1 to 9999) once converted to UTC") from None


UtcDatetime = Annotated[
    datetime, AfterValidator(as_utc), PlainSerializer(format_utc, return_type=str, when_used="json")
]


def _require_timezone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a time zone offset or Z (e.g. 2030-01-01T09:00:00Z)")
    return _in_utc(value)


AwareUtcDatetime = Annotated[
    datetime, AfterValidator(_require_timezone), PlainSerializer(format_utc, return_type=str, when_used="json")
]


class Caller(NamedTuple):
    """Who a use case acts for: the team that owns what it touches and the user recorded as its author.

    HTTP handlers take both from the authorizer context, never from the body; event sources
    (schedules, triggers) act for the owner they stored.
    """

    team_id: str
    user_id: str


def empty_list() -> list[Any]:
    """The ``default_factory`` of list fields, in place of ``list`` itself.

    pydantic inspects a factory's signature when it builds a schema; a builtin's is parsed from its
    text signature by ``tokenize``, whose first use compiles a large regex: about 2.5 ms of the first
    request of a cold start.
    """
    return []


def new_object_id() -> str:
    return str(ObjectId())


def audit_fields(team_id: str | None, user_id: str, now: datetime, object_id: str | None = None) -> dict[str, Any]:
    """The id and audit fields of an object ``user_id`` creates now: ``Model(**audit_fields(...), ...)``."""
    return {
        "_id": object_id or new_object_id(),
        "team_id": team_id,
        "created_by": user_id,
        "updated_by": user_id,
        "created_at": now,
        "updated_at": now,
    }


class ApiModel(BaseModel):
    """Base of public shapes: accepts field names or aliases, serializes by alias (``_id``)."""

    # Schemas are built on first use, so a handler pays only for the shapes it actually handles.
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True, defer_build=True)


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are rejected so typos are reported, not ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", defer_build=True)


class AuditedModel(ApiModel):
    """Audit fields shared by workflows, versions, runs and schedules (snake_case, per the reference)."""

    team_id: str | None = None
    created_by: str | None = None
    updated_by: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    id: ObjectIdStr | None = Field(None, alias="_id", description="MongoDB document ObjectID")

    @property
    def stored_id(self) -> str:
        """The id of an object read from the store, where it is always set (optional only in the public shape)."""
        if self.id is None:
            raise ValueError(f"this {type(self).__name__} has not been stored yet")
        return self.id

    @property
    def owner_team_id(self) -> str:
        """The owning team of an object read from the store, where it is always set."""
        if self.team_id is None:
            raise ValueError(f"this {type(self).__name__} has no team")
        return self.team_id


def jsonable(value: Any) -> Any:
    """Convert ObjectIds and datetimes inside plain data to JSON-safe values."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return format_utc(value)
    return value


# How deeply free-form JSON may nest. MongoDB refuses documents nested past 100 levels and the stored
# documents wrap what callers send in a few levels of their own, so 64 leaves room and covers real data.
MAX_JSON_NESTING = 64


# MongoDB stores integers in at most 64 bits (BSON int64).
INT64 = range(-(2**63), 2**63)


class UnstorablePart(NamedTuple):
    """Where free-form JSON cannot be stored, the error ``type`` a 422 names, and why."""

    path: tuple[str | int, ...]
    type: str
    message: str


def first_unstorable(value: Any, limit: int = MAX_JSON_NESTING) -> UnstorablePart | None:
    """The first part of free-form JSON MongoDB could not store: an object or array nested more than
    ``limit`` levels deep, an integer beyond 64 bits, or a string or key that is not valid Unicode (a
    lone surrogate escape such as ``"\\ud800"``: valid JSON, but no UTF-8 encodes it); None if all is
    storable.

    Walks with an explicit stack, so a body nested thousands deep cannot exhaust the interpreter's.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        current, path = stack.pop()
        children: Any
        if isinstance(current, dict):
            children = current.items()
            unencodable_key = next((key for key in current if isinstance(key, str) and not _encodable(key)), None)
            if unencodable_key is not None:
                return UnstorablePart((*path, _printable(unencodable_key)), "string_unicode", _NOT_UNICODE)
        elif isinstance(current, list):
            children = enumerate(current)
        else:
            if isinstance(current, int) and not isinstance(current, bool) and current not in INT64:
                return UnstorablePart(
                    path, "int64_overflow", "an integer that does not fit in 64 bits; send it as a string"
                )
            if isinstance(current, str) and not _encodable(current):
                return UnstorablePart(path, "string_unicode", _NOT_UNICODE)
            continue
        if len(path) >= limit:
            return UnstorablePart(path, "too_deeply_nested", f"JSON nested more than {limit} levels deep")
        stack.extend((child, (*path, key)) for key, child in children)
    return None


_NOT_UNICODE = "a string that is not valid Unicode (a lone surrogate escape such as \\ud800)"


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(key: str) -> str:
    # The key itself cannot be echoed in a JSON answer; its lone surrogates are shown escaped.
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def too_deeply_nested(value: Any, limit: int = MAX_JSON_NESTING) -> tuple[str | int, ...] | None:
    """The path to the first object or array nested more than ``limit`` levels deep, or None."""
    found = first_unstorable(value, limit)
    return found.path if found is not None and found.type == "too_deeply_nested" else None


def reject_unstorable_json(document: Any) -> None:
    """ValidationFailed naming where a request body nests past ``MAX_JSON_NESTING`` or holds an integer
    beyond 64 bits (before anything is stored)."""
    found = first_unstorable(document)
    if found is not None:
        raise ValidationFailed(FieldProblem(loc=("body", *found.path), msg=found.message, type=found.type))
