"""OpenAI-compatible chat completions through the egress guard: the one AI client.

``POST {baseUrl}/chat/completions`` with the credential's key as a bearer token (a header the
guard drops on a cross-host redirect). A 429 or 5xx answer is retried once, after its
``Retry-After`` (1 s when absent), only when that wait fits in the time the node has left
and under ``MAX_RETRY_WAIT_S``. Upstream errors keep their message (``{"error":{"message"}}``)
and status code. Used by the ai-agent and ai-summarize nodes and by credential tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from fluxolab.egress import Egress, EgressDenied, EgressError

AUTH_HEADERS = frozenset({"authorization"})
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_RETRY_WAIT_S = 30.0
DEFAULT_RETRY_WAIT_S = 1.0
SHOWN_BODY_CHARS = 300


class ChatError(Exception):
    """A completion failed; ``message`` is user-facing, ``status`` the upstream HTTP status."""

    def __init__(self, message: str, kind: str = "UpstreamError", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class ChatEndpoint:
    """The ``openai-compatible`` credential's secret ``{baseUrl, apiKey, model?}``."""

    base_url: str
    api_key: str = field(repr=False)
    model: str = ""

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any]) -> ChatEndpoint:
        """Read the secret; raises ChatError naming the bad field."""
        base_url, api_key = secret.get("baseUrl"), secret.get("apiKey")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ChatError("AI credential baseUrl must be an http(s) URL", "CredentialError")
        if not isinstance(api_key, str) or not api_key:
            raise ChatError("AI credential has no apiKey", "CredentialError")
        model = secret.get("model")
        return cls(base_url.rstrip("/"), api_key, model if isinstance(model, str) else "")

    def url(self, path: str) -> str:
        """Return the URL of an API path under the base URL."""
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def headers(self) -> dict[str, str]:
        """Return the request headers, the bearer token included."""
        return {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}


@dataclass(frozen=True)
class ChatReply:
    """What the nodes output: the text, the model that answered, token usage, finish reason."""

    text: str
    model: str
    usage: dict[str, int | None]
    finish_reason: str | None

    def to_json(self) -> dict[str, Any]:
        """Return the reply as the nodes' output JSON."""
        return {
            "text": self.text,
            "model": self.model,
            "usage": self.usage,
            "finishReason": self.finish_reason,
        }


def upstream_message(response: httpx.Response) -> str:
    """Return the provider's own error message, else the start of the body, else the reason."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    text = response.text.strip()
    return text[:SHOWN_BODY_CHARS] if text else response.reason_phrase


def retry_after_s(response: httpx.Response) -> float:
    """Return the wait a ``Retry-After`` header asks for (seconds or an HTTP date)."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return DEFAULT_RETRY_WAIT_S
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_WAIT_S
    return max(moment.timestamp() - time.time(), 0.0)


def _usage(body: Mapping[str, Any]) -> dict[str, int | None]:
    """Return token usage as ``{promptTokens, completionTokens, totalTokens}``."""
    usage = body.get("usage")
    usage = usage if isinstance(usage, dict) else {}

    def count(key: str) -> int | None:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return {
        "promptTokens": count("prompt_tokens"),
        "completionTokens": count("completion_tokens"),
        "totalTokens": count("total_tokens"),
    }


def parse_reply(response: httpx.Response, requested_model: str) -> ChatReply:
    """Read a completion; raises ChatError for a body that is not one."""
    try:
        body = response.json()
        choice = body["choices"][0]
        message = choice.get("message") or {}
        content = message.get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        shown = response.text.strip()[:SHOWN_BODY_CHARS]
        raise ChatError(
            f"AI provider answered {response.status_code} without a completion: {shown}",
            status=response.status_code,
        ) from None
    text = content if isinstance(content, str) else ""
    model = body.get("model") if isinstance(body.get("model"), str) else requested_model
    finish = choice.get("finish_reason")
    return ChatReply(text, model, _usage(body), finish if isinstance(finish, str) else None)


def _request(
    egress: Egress, method: str, url: str, headers: Mapping[str, str], timeout: float, **extra: Any
) -> httpx.Response:
    """Send one request through the guard; raises ChatError for a refused or failed one."""
    try:
        return egress.request(
            method,
            url,
            headers=headers,
            timeout=timeout,
            max_bytes=MAX_RESPONSE_BYTES,
            auth_headers=AUTH_HEADERS,
            **extra,
        )
    except EgressDenied as exc:
        raise ChatError(exc.message, "EgressDenied") from None
    except EgressError as exc:
        raise ChatError(exc.message, "ConnectionError") from None


def _send(
    egress: Egress, endpoint: ChatEndpoint, body: Mapping[str, Any], timeout: float
) -> httpx.Response:
    """POST one completion request."""
    headers = {**endpoint.headers, "Content-Type": "application/json"}
    content = json.dumps(body, ensure_ascii=False).encode()
    url = endpoint.url("chat/completions")
    return _request(egress, "POST", url, headers, timeout, content=content)


def _failure(response: httpx.Response, note: str = "") -> ChatError:
    """Return the ChatError of an error answer."""
    message = f"AI provider answered {response.status_code}: {upstream_message(response)}{note}"
    return ChatError(message, status=response.status_code)


def complete(
    egress: Egress,
    endpoint: ChatEndpoint,
    body: Mapping[str, Any],
    *,
    timeout_s: float,
    deadline_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] | None = None,
) -> ChatReply:
    """Run one chat completion; ``deadline_s`` is the time the caller has left, if bounded.

    Raises ChatError with the upstream message and status on an error answer.
    """
    started = time.monotonic()

    def left() -> float | None:
        return None if deadline_s is None else deadline_s - (time.monotonic() - started)

    def attempt_s() -> float:
        remaining = left()
        return timeout_s if remaining is None else max(min(timeout_s, remaining), 0.001)

    response = _send(egress, endpoint, body, attempt_s())
    status = response.status_code
    if status == 429 or status >= 500:
        wait = retry_after_s(response)
        remaining = left()
        if wait > MAX_RETRY_WAIT_S or (remaining is not None and wait >= remaining):
            raise _failure(response, f" (not retried: it asks to wait {wait:g} s)")
        if log is not None:
            log(f"AI provider answered {status}; retrying once in {wait:g} s")
        sleep(wait)
        response = _send(egress, endpoint, body, attempt_s())
    if response.status_code >= 400:
        raise _failure(response)
    return parse_reply(response, str(body.get("model") or ""))


def list_models(egress: Egress, endpoint: ChatEndpoint, *, timeout_s: float) -> list[str]:
    """Return the model ids of ``GET {baseUrl}/models`` (a credential test); raises ChatError."""
    response = _request(egress, "GET", endpoint.url("models"), endpoint.headers, timeout_s)
    if response.status_code >= 400:
        raise _failure(response)
    try:
        data = response.json()["data"]
        return [str(entry["id"]) for entry in data if isinstance(entry, dict) and "id" in entry]
    except (ValueError, KeyError, TypeError):
        raise ChatError("AI provider's model list is not in the OpenAI format") from None
