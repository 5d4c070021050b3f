"""Domain errors and the one JSON error envelope.

Every error the API returns has this body, whatever raised it (a service, webargs
validation, flask-jwt-extended, werkzeug routing, an unexpected exception)::

    {"status": "error", "message": "<human string>", "code": "<machine code>", "errors": {...}}

The tree (HTTP status, ``code``)::

    FluxoError                       500 internal_error
    ├── BadRequest                   400 bad_request
    ├── Unauthorized                 401 unauthorized
    │   └── TokenRevoked             401 token_revoked
    ├── PlanLimitExceeded            402 plan_limit_exceeded
    ├── Forbidden                    403 forbidden
    ├── NotFound                     404 not_found
    ├── MethodNotAllowed             405 method_not_allowed (Allow header)
    ├── Conflict                     409 conflict
    ├── PayloadTooLarge              413 payload_too_large
    ├── UriTooLong                   414 uri_too_long
    ├── UnsupportedMediaType         415 unsupported_media_type
    ├── ValidationFailed             422 validation_error   (errors: {field: [messages]})
    ├── RateLimited                  429 rate_limited       (Retry-After header)
    └── ServiceUnavailable           503 service_unavailable (Retry-After header)

Services raise these; ``fluxolab.common.errorhandlers`` maps them to HTTP once.
"""

from __future__ import annotations

from typing import Any


class FluxoError(Exception):
    """Base of every error that is meant to reach an API caller."""

    status = 500
    code = "internal_error"
    default_message = "Erro interno do servidor."

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.errors = errors or {}
        if code:
            self.code = code
        self.retry_after = retry_after
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        """Return the JSON envelope for this error."""
        return error_body(self.message, self.code, self.errors)

    def headers(self) -> dict[str, str]:
        """Return extra HTTP headers (Retry-After for throttling and outages)."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class BadRequest(FluxoError):
    status, code, default_message = 400, "bad_request", "Requisicao invalida."


class Unauthorized(FluxoError):
    status, code, default_message = 401, "unauthorized", "Autenticacao necessaria."


class TokenRevoked(Unauthorized):
    code, default_message = "token_revoked", "Sessao encerrada; faca login novamente."


class PlanLimitExceeded(FluxoError):
    status, code, default_message = 402, "plan_limit_exceeded", "Limite do plano atingido."


class Forbidden(FluxoError):
    status, code, default_message = 403, "forbidden", "Permissao insuficiente."


class NotFound(FluxoError):
    status, code, default_message = 404, "not_found", "Recurso nao encontrado."


class MethodNotAllowed(FluxoError):
    status, code, default_message = 405, "method_not_allowed", "Metodo nao permitido."

    def __init__(self, message: str | None = None, *, allow: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allow)} if self.allow else {}


class Conflict(FluxoError):
    status, code, default_message = 409, "conflict", "Conflito com o estado atual."


class PayloadTooLarge(FluxoError):
    status, code, default_message = 413, "payload_too_large", "Corpo da requisicao grande demais."


class UriTooLong(FluxoError):
    status, code, default_message = 414, "uri_too_long", "URL longa demais."


class UnsupportedMediaType(FluxoError):
    status, code = 415, "unsupported_media_type"
    default_message = "Tipo de conteudo nao suportado."


class ValidationFailed(FluxoError):
    status, code, default_message = 422, "validation_error", "Dados invalidos."


class RateLimited(FluxoError):
    status, code, default_message = 429, "rate_limited", "Muitas requisicoes; tente mais tarde."


class ServiceUnavailable(FluxoError):
    status, code = 503, "service_unavailable"
    default_message = "Servico temporariamente indisponivel."


def error_body(message: str, code: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the error envelope; ``message`` is always a string."""
    return {"status": "error", "message": str(message), "code": code, "errors": errors or {}}
