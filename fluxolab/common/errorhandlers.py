"""Map every failure to the JSON error envelope (domain errors, HTTP errors, JWT, database)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from flask_jwt_extended import JWTManager
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from fluxolab.errors import FluxoError, ServiceUnavailable, error_body
from fluxolab.extensions import db

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    400: ("bad_request", "Requisicao invalida."),
    401: ("unauthorized", "Autenticacao necessaria."),
    403: ("forbidden", "Permissao insuficiente."),
    404: ("not_found", "Recurso nao encontrado."),
    405: ("method_not_allowed", "Metodo nao permitido para este recurso."),
    413: ("payload_too_large", "Corpo da requisicao grande demais."),
    414: ("uri_too_long", "URL longa demais."),
    415: ("unsupported_media_type", "Tipo de conteudo nao suportado."),
    422: ("validation_error", "Dados invalidos."),
    429: ("rate_limited", "Muitas requisicoes; tente mais tarde."),
    500: ("internal_error", "Erro interno do servidor."),
}


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_webargs(messages: Any) -> dict[str, Any]:
    """webargs nests errors by location ({"json": {...}}); the API reports fields directly."""
    if isinstance(messages, dict) and set(messages) <= {
        "json",
        "query",
        "files",
        "form",
        "view_args",
    }:
        flat: dict[str, Any] = {}
        for location_errors in messages.values():
            if isinstance(location_errors, dict):
                flat.update(location_errors)
            else:
                flat["_body"] = location_errors
        return flat
    return messages if isinstance(messages, dict) else {"_body": messages}


def _summary(errors: dict[str, Any]) -> str:
    parts = []
    for field, problems in list(errors.items())[:5]:
        text = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(text, dict):
            text = "invalid"
        label = "corpo" if field == "_body" else field
        parts.append(f"{label}: {text}")
    return "Dados invalidos: " + "; ".join(parts) if parts else "Dados invalidos."


def http_error_response(error: HTTPException) -> Response:
    """Render a werkzeug/webargs HTTP error as the envelope."""
    status = error.code or 500
    code, message = _HTTP_MESSAGES.get(status, ("http_error", error.name or "Erro."))
    data = getattr(error, "data", None) or {}
    errors: dict[str, Any] = {}
    if "messages" in data or "errors" in data:
        errors = _flatten_webargs(data.get("errors", data.get("messages")))
        message = _summary(errors) if status == 422 else message
    if status == 400 and "Invalid JSON body." in errors.get("_body", []):
        message = "O corpo da requisicao nao e um JSON valido."
    message = data.get("message", message)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    if status == 429 and "Retry-After" not in headers:
        headers["Retry-After"] = "60"
    return _json(error_body(message, code, errors), status, headers)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; call after flask-smorest's Api.init_app so ours win."""

    @app.errorhandler(FluxoError)
    def _domain(error: FluxoError) -> Response:
        return _json(error.to_body(), error.status, error.headers())

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return http_error_response(error)

    @app.errorhandler(DataError)
    def _bad_data(error: DataError) -> Response:
        db.session.rollback()
        log.warning("database refused a value: %s", error.orig)
        body = error_body("Valor invalido para o banco de dados.", "invalid_value")
        return _json(body, 400)

    @app.errorhandler(OperationalError)
    def _db_down(error: DBAPIError) -> Response:
        log.error("database unavailable: %s", error.orig)
        outage = ServiceUnavailable("Banco de dados indisponivel; tente novamente.", retry_after=5)
        return _json(outage.to_body(), 503, outage.headers())

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        code, message = _HTTP_MESSAGES[500]
        return _json(error_body(message, code), 500)


def register_jwt_loaders(jwt: JWTManager) -> None:
    """Make flask-jwt-extended answer with the envelope instead of ``{"msg": ...}``."""

    def reply(message: str, code: str, status: int = 401) -> Response:
        return _json(error_body(message, code), status)

    jwt.unauthorized_loader(lambda _reason: reply("Token de acesso ausente.", "token_missing"))
    jwt.invalid_token_loader(lambda _reason: reply("Token de acesso invalido.", "token_invalid"))
    jwt.expired_token_loader(lambda _h, _p: reply("Token de acesso expirado.", "token_expired"))
    jwt.revoked_token_loader(lambda _h, _p: reply("Sessao encerrada.", "token_revoked"))
    jwt.needs_fresh_token_loader(
        lambda _h, _p: reply("Token recente necessario.", "fresh_token_required")
    )
    jwt.user_lookup_error_loader(
        lambda _h, _p: reply("Usuario do token nao encontrado.", "token_invalid")
    )
