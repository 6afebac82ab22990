"""Public shapes of outbound workflow webhooks (reference sections 2 G6, 6 and 9): subscriptions,
their events and delivery attempts.

A subscription's bearer token is write-only: answers say ``has_bearer_token`` instead. Its signing
secret appears in two answers only, create and rotate-secret.
"""

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from workflow_service.models.common import ApiModel, ObjectIdStr, RequestModel, UtcDatetime
from workflow_service.models.webhook_actions import WebhookAction, WebhookEventStatus

MAX_NAME_LENGTH = 150
MAX_URL_LENGTH = 2048
MAX_BEARER_TOKEN_LENGTH = 2000
RECEIVER_SCHEMES = ("https", "http")


def _receiver_url(value: str) -> str:
    # Only what the text itself shows; which hosts may be called is the service's URL check.
    if value != value.strip() or any(character.isspace() or ord(character) < 32 for character in value):
        raise ValueError("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError as error:
        raise ValueError(f"is not a valid URL: {error}") from None
    if parts.scheme.lower() not in RECEIVER_SCHEMES:
        raise ValueError("must be an https URL (e.g. https://example.com/hooks/interactly)")
    if not parts.hostname:
        raise ValueError("must name a host (e.g. https://example.com/hooks/interactly)")
    return value


ReceiverUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="Where deliveries are POSTed: https, a public host (private, loopback and metadata "
        "addresses are refused; plain http and loopback only in the local runtime)",
        examples=["https://example.com/hooks/interactly"],
    ),
    AfterValidator(_receiver_url),
]
SubscriptionName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["CRM sync"])]


def _sendable_token(value: str) -> str:
    # It travels in a header: anything else (a space, a control character, a non-ASCII letter) would
    # make every delivery fail before a byte is sent, long after this request was accepted.
    if not all("!" <= character <= "~" for character in value):
        raise ValueError("must be printable ASCII without spaces (it is sent in the Authorization header)")
    return value


BearerToken = Annotated[
    str,
    Field(
        max_length=MAX_BEARER_TOKEN_LENGTH,
        description="Sent as 'Authorization: Bearer <token>' on every delivery; never returned. "
        "Printable ASCII without spaces",
        # Published for clients; checked by _sendable_token, whose message says why.
        json_schema_extra={"pattern": "^[!-~]*$"},
    ),
    AfterValidator(_sendable_token),
]
Actions = Annotated[
    list[WebhookAction],
    Field(min_length=1, max_length=len(WebhookAction), description="The actions to receive (absent: all five)"),
    AfterValidator(lambda actions: list(dict.fromkeys(actions))),
]
TimeoutSeconds = Annotated[int, Field(ge=1, le=60, description="Per attempt; no answer in time is a failure")]
MaxRetries = Annotated[int, Field(ge=0, le=10, description="Attempts after the first failed one")]
RetryBackoffSeconds = Annotated[int, Field(ge=1, le=300, description="Wait between attempts")]


class CreateWebhookRequest(RequestModel):
    name: SubscriptionName
    url: ReceiverUrl
    actions: Actions | None = None
    enabled: bool = True
    bearer_token: BearerToken | None = None
    timeout_seconds: TimeoutSeconds = 10
    max_retries: MaxRetries = 3
    retry_backoff_seconds: RetryBackoffSeconds = 10

    def chosen_actions(self) -> list[WebhookAction]:
        return list(self.actions) if self.actions is not None else list(WebhookAction)


class UpdateWebhookRequest(RequestModel):
    """Every field optional; an absent or null field is left unchanged (the reference's fields are
    nullable). ``clear_bearer_token`` removes the token; it cannot be combined with a new one."""

    name: SubscriptionName | None = None
    url: ReceiverUrl | None = None
    actions: Actions | None = None
    enabled: bool | None = None
    bearer_token: BearerToken | None = None
    clear_bearer_token: bool = False
    timeout_seconds: TimeoutSeconds | None = None
    max_retries: MaxRetries | None = None
    retry_backoff_seconds: RetryBackoffSeconds | None = None

    @model_validator(mode="after")
    def _one_token_change(self) -> "UpdateWebhookRequest":
        if self.clear_bearer_token and self.bearer_token is not None:
            raise ValueError("clear_bearer_token and bearer_token cannot both be given")
        return self

    def changes(self) -> dict[str, Any]:
        """The stored fields this request sets (``bearer_token`` None when cleared)."""
        fields = {
            name: value for name, value in self.model_dump(exclude={"clear_bearer_token"}).items() if value is not None
        }
        if self.clear_bearer_token:
            fields["bearer_token"] = None
        return fields


class WorkflowWebhook(ApiModel):
    """A subscription as every answer shows it (the bearer token and signing secrets never)."""

    id: ObjectIdStr
    name: str
    url: str
    actions: list[WebhookAction]
    enabled: bool
    has_bearer_token: bool
    timeout_seconds: int
    max_retries: int
    retry_backoff_seconds: int
    disabled_reason: str | None = Field(
        None, description="Why the service disabled it (e.g. the receiver answered 410 Gone); null otherwise"
    )


class WorkflowWebhookWithSecret(WorkflowWebhook):
    """The create answer: the only one, besides rotate-secret, that carries the signing secret."""

    signing_secret: str = Field(
        description="Standard Webhooks secret ('whsec_' + base64 of 32 random bytes). Shown once: store it now."
    )


class RotatedWebhookSecret(WorkflowWebhookWithSecret):
    """The rotate-secret answer: the new secret, shown once; the old one keeps signing until it expires."""

    previous_secret_expires_at: UtcDatetime = Field(
        description="Until then deliveries carry signatures by both the new and the previous secret"
    )


class WorkflowWebhookList(ApiModel):
    webhooks: list[WorkflowWebhook]
    total: int


class ListWebhooksQuery(RequestModel):
    page: int = Field(1, ge=1, le=1_000_000)
    size: int = Field(100, ge=1, le=1000)
    search: str | None = Field(None, max_length=200, description="Case-insensitive match on name or URL")
    enabled: bool | None = None
    action: WebhookAction | None = Field(None, description="Only subscriptions that receive this action")


class DeleteWebhookResponse(ApiModel):
    id: ObjectIdStr
    message: str


class ListWebhookEventsQuery(RequestModel):
    subscription_id: ObjectIdStr | None = None
    workflow_id: ObjectIdStr | None = None
    action: WebhookAction | None = None
    status: WebhookEventStatus | None = None
    size: int = Field(300, ge=1, le=1000)
    page: int = Field(1, ge=1, le=1_000_000)
    search: str | None = Field(None, max_length=200, description="Case-insensitive match on the workflow name")
    start: UtcDatetime | None = Field(None, description="Events created at or after")
    end: UtcDatetime | None = Field(None, description="Events created at or before")


class WebhookEventRecord(ApiModel):
    """One event of one subscription, as the event log shows it (``_id`` == ``event_id``)."""

    id: str = Field(alias="_id")
    event_id: str
    subscription_id: str
    action: WebhookAction
    team_id: str
    created_by: str | None = None
    updated_by: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    workflow_id: str | None = None
    workflow_name: str | None = None
    workflow_run_id: str | None = None
    workflow_run_status: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    dedupe_key: str
    status: WebhookEventStatus = WebhookEventStatus.PENDING
    attempts_count: int = 0
    next_retry_at: UtcDatetime | None = None
    delivered_at: UtcDatetime | None = None
    last_attempt_at: UtcDatetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None


class WebhookEventList(ApiModel):
    events: list[WebhookEventRecord]
    total: int


class ListWebhookAttemptsQuery(RequestModel):
    page: int = Field(1, ge=1, le=1_000_000)
    size: int = Field(100, ge=1, le=1000)


class WebhookAttemptRecord(ApiModel):
    """One delivery attempt (``response_body`` truncated)."""

    id: str | None = Field(None, alias="_id")
    event_id: str
    subscription_id: str
    attempt_number: int
    action: WebhookAction
    request_url: str
    success: bool
    response_status_code: int | None = None
    response_body: str | None = None
    error_message: str | None = None
    latency_ms: int | None = None
    created_at: UtcDatetime | None = None


class WebhookAttemptList(ApiModel):
    attempts: list[WebhookAttemptRecord]
    total: int


class RetryWebhookEventResponse(ApiModel):
    message: str
    event_id: str
