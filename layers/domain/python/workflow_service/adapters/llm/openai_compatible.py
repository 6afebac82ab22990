"""Any OpenAI-compatible ``/chat/completions`` endpoint (provider ``openai_compatible``), over urllib.

The deployment's endpoint URL and key come from its settings, and the deployment's key never goes to
a workflow's ``llms_config.base_url``: a workflow author must not be able to point the service's API
key at another host. Redirects are not followed (an answer of 3xx is an error) for the same reason.
A config's own ``base_url`` (with its own key, if any) is called through ``guarded_http``, the SSRF
guard ``http_request`` nodes use, so a workflow cannot reach link-local, metadata or private addresses.

Structured output uses ``response_format``: ``json_schema`` by default, or ``json_object`` (the
schema then travels in the system prompt) when ``model_kwargs.structured_output_mode`` says so, for
servers that do not implement JSON schemas.

Tools travel as ``tools`` (``type: function``) with ``tool_choice`` ``auto`` or ``none``; the answer's
``tool_calls`` become ``LlmResponse.tool_calls`` (arguments that are not a JSON object are handed on
with ``arguments_error``, for the engine to tell the model), and the conversation's tool rounds go back
as an assistant message with ``tool_calls`` followed by one ``tool`` message per call.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from workflow_service.adapters.llm._common import (
    STRUCTURED_OUTPUT_TOOL_NAME,
    call_timeout,
    excerpt,
    inference_options,
    model_kwargs,
    object_schema,
    parse_json_object,
    requested_schema,
)
from workflow_service.models.llm_calls import LlmMessage, LlmRequest, LlmResponse, LlmToolCall
from workflow_service.ports.http import OutboundRequest, OutboundRequestFailed, OutboundRequestRefused
from workflow_service.ports.llm import LlmError

if TYPE_CHECKING:
    from workflow_service.ports.http import HttpClient

PROVIDER_NAME = "openai_compatible"

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
_STRUCTURED_OUTPUT_MODES = ("json_schema", "json_object")


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


class OpenAiCompatibleLlm:
    """``ports.LlmGateway`` for an OpenAI-compatible chat completions API.

    ``base_url`` is the API root (e.g. ``https://api.openai.com/v1``); requests go to
    ``{base_url}/chat/completions`` with ``Authorization: Bearer {api_key}`` when a key is given.
    The model is ``llm_config["model"]``, else ``default_model``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        timeout_seconds: float,
        default_model: str | None = None,
        *,
        guarded_http: HttpClient | None = None,
        used_user_keys: bool = False,
        extra_headers: dict[str, str] | None = None,
        exact_endpoint: bool = False,
        unwrap_key: str | None = None,
    ) -> None:
        """``exact_endpoint``: POST to ``base_url`` itself (gateways without the /chat/completions suffix);
        ``unwrap_key``: the answer is the OpenAI response wrapped in this key of the JSON body."""
        if not base_url.startswith(("http://", "https://")):
            raise LlmError(f"the OpenAI-compatible base URL must be http(s), got {_shown(base_url)!r}")
        self._endpoint = base_url if exact_endpoint else base_url.rstrip("/") + "/chat/completions"
        self._unwrap_key = unwrap_key
        self._shown_endpoint = _shown(self._endpoint)
        self._api_key = api_key
        self._guarded_http = guarded_http
        self._used_user_keys = used_user_keys
        self._extra_headers = dict(extra_headers or {})
        self._timeout_seconds = timeout_seconds
        self._default_model = default_model
        # No ProxyHandler from the environment and no redirects: the key goes to base_url only.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _RefuseRedirects())

    def complete(self, request: LlmRequest) -> LlmResponse:
        """POST one chat completion; timeouts, non-2xx answers and unusable bodies raise LlmError."""
        model = request.llm_config.get("model") or self._default_model
        if not model:
            raise LlmError(
                "no model configured for provider openai_compatible: set llms_config.model or LLM_DEFAULT_MODEL"
            )
        schema = requested_schema(request)
        payload = self._payload(request, model, schema)

        started = time.perf_counter()
        timeout = call_timeout(request, self._timeout_seconds)
        answer = (
            self._post_guarded(payload, timeout) if self._guarded_http is not None else self._post(payload, timeout)
        )
        if self._unwrap_key:
            inner = answer.get(self._unwrap_key)
            if not isinstance(inner, dict):
                raise LlmError(f"openai_compatible answer has no object under {self._unwrap_key!r}")
            answer = inner
        latency_ms = (time.perf_counter() - started) * 1000.0

        try:
            choice = answer["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise LlmError(
                f"openai_compatible answer has no choices[0].message: {excerpt(json.dumps(answer))}"
            ) from None
        content = message.get("content") or ""
        if not isinstance(content, str):
            raise LlmError("openai_compatible answer content is not a string")
        tool_calls = _tool_calls(message.get("tool_calls"))
        structured = (
            parse_json_object(content, provider=PROVIDER_NAME) if schema is not None and not tool_calls else None
        )
        usage = answer.get("usage") or {}
        return LlmResponse(
            content=content,
            provider=PROVIDER_NAME,
            model=str(answer.get("model") or model),
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            latency_ms=latency_ms,
            structured_output=structured,
            used_user_keys=self._used_user_keys,
            tool_calls=tool_calls,
            raw={"finish_reason": choice.get("finish_reason"), "id": answer.get("id")},
        )

    def _payload(self, request: LlmRequest, model: str, schema: dict[str, Any] | None) -> dict[str, Any]:
        mode = model_kwargs(request).get("structured_output_mode", "json_schema")
        if mode not in _STRUCTURED_OUTPUT_MODES:
            raise LlmError(
                f"model_kwargs.structured_output_mode must be one of {_STRUCTURED_OUTPUT_MODES}, got {mode!r}"
            )
        system_prompt = request.system_prompt
        if schema is not None and mode == "json_object":
            # json_object mode requires the word JSON in the prompt and carries no schema of its own.
            system_prompt = (
                f"{system_prompt}\n\nAnswer with only a JSON object that follows this JSON schema:\n"
                f"{json.dumps(schema)}"
            ).strip()

        messages: list[dict[str, Any]] = []
        if system_prompt.strip():
            messages.append({"role": "system", "content": system_prompt})
        messages += [_message(message) for message in request.messages]

        payload: dict[str, Any] = {"model": model, "messages": messages}
        if request.tools:
            payload["tools"] = [
                {
                    "type": "function",
                    "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
                }
                for tool in request.tools
            ]
            payload["tool_choice"] = request.tool_choice
        options = inference_options(request)
        if options.temperature is not None:
            payload["temperature"] = options.temperature
        if options.max_tokens is not None:
            payload["max_tokens"] = options.max_tokens
        if options.top_p is not None:
            payload["top_p"] = options.top_p
        if options.stop:
            payload["stop"] = list(options.stop)
        for name in ("reasoning_effort", "seed"):
            if request.llm_config.get(name) is not None:
                payload[name] = request.llm_config[name]
        if schema is not None:
            if mode == "json_schema":
                payload["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": STRUCTURED_OUTPUT_TOOL_NAME, "schema": object_schema(schema)},
                }
            else:
                payload["response_format"] = {"type": "json_object"}
        return payload

    def _headers(self) -> dict[str, str]:
        headers = {**self._extra_headers, "Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _post_guarded(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self._guarded_http is not None
        outbound = OutboundRequest(
            "POST", self._endpoint, self._headers(), json.dumps(payload).encode("utf-8"), timeout_seconds=timeout
        )
        try:
            response = self._guarded_http.send(outbound)
        except OutboundRequestRefused as error:
            raise LlmError(f"openai_compatible endpoint {self._shown_endpoint} refused: {error}") from None
        except OutboundRequestFailed as error:
            raise LlmError(f"openai_compatible endpoint {self._shown_endpoint} unreachable: {error}") from None
        text = response.body[: MAX_RESPONSE_BYTES + 1].decode("utf-8", errors="replace")
        if not 200 <= response.status < 300:
            raise LlmError(
                f"openai_compatible endpoint {self._shown_endpoint} answered {response.status}: {excerpt(text)}"
            )
        return _answer(text)

    def _post(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        headers = self._headers()
        http_request = urllib.request.Request(
            self._endpoint, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST"
        )
        try:
            with self._opener.open(http_request, timeout=timeout) as response:
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            error_body = _read_error_body(error)
            raise LlmError(
                f"openai_compatible endpoint {self._shown_endpoint} answered {error.code}: {excerpt(error_body)}"
            ) from None
        except TimeoutError:
            raise LlmError(f"openai_compatible endpoint {self._shown_endpoint} timed out after {timeout:g} s") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise LlmError(
                    f"openai_compatible endpoint {self._shown_endpoint} timed out after {timeout:g} s"
                ) from None
            raise LlmError(f"openai_compatible endpoint {self._shown_endpoint} unreachable: {error.reason}") from None
        except OSError as error:  # connection reset mid-body, TLS failures
            raise LlmError(f"openai_compatible endpoint {self._shown_endpoint} failed: {error}") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise LlmError(f"openai_compatible answer exceeds {MAX_RESPONSE_BYTES} bytes")
        return _answer(body.decode("utf-8", errors="replace"))


def _answer(text: str) -> dict[str, Any]:
    try:
        answer = json.loads(text)
    except ValueError:
        raise LlmError(f"openai_compatible answer is not JSON: {excerpt(text)}") from None
    if not isinstance(answer, dict):
        raise LlmError(f"openai_compatible answer is not a JSON object: {excerpt(text)}")
    return answer


def _shown(url: str) -> str:
    """``url`` without credentials or query (some gateways take a key there) for error messages."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(unparseable URL)"


def _message(message: LlmMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def _tool_calls(raw: Any) -> tuple[LlmToolCall, ...]:
    if not raw:
        return ()
    if not isinstance(raw, list):
        raise LlmError(f"openai_compatible answer tool_calls is not a list: {excerpt(json.dumps(raw))}")
    calls = []
    for position, call in enumerate(raw):
        function = call.get("function") if isinstance(call, dict) else None
        if not (
            isinstance(function, dict)
            and isinstance(call.get("id"), str)
            and call["id"]
            and isinstance(function.get("name"), str)
        ):
            raise LlmError(
                f"openai_compatible answer tool_calls[{position}] has no id or function name: "
                f"{excerpt(json.dumps(call, default=str))}"
            )
        text = function.get("arguments") or "{}"
        arguments: Any = text
        error = None
        if isinstance(text, str):
            try:
                arguments = json.loads(text)
            except ValueError:
                error = f"not JSON: {excerpt(text, 200)}"
        if error is None and not isinstance(arguments, dict):
            error = f"not a JSON object: {excerpt(json.dumps(arguments, default=str), 200)}"
        calls.append(
            LlmToolCall(
                id=call["id"],
                name=function["name"],
                arguments=arguments if error is None else {},
                arguments_error=error,
            )
        )
    return tuple(calls)


def _read_error_body(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return ""
    finally:
        error.close()
