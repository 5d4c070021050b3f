"""Public form routes: the JSON API under /api and the server-rendered HTML page.

JSON (flask-smorest, documented): ``GET /api/forms/<token>`` answers the definition,
``POST /api/forms/<token>`` validates a JSON submission (422 per field) and queues a
``form`` run (202 ``{status, executionId}``). HTML (plain blueprint, not in the OpenAPI
document): ``GET /forms/<token>`` renders the form, ``POST /forms/<token>`` takes it
urlencoded and answers the thank-you page or the form again with its errors (422).

Submissions are throttled per source IP and per form before any database access (429 with
Retry-After, nothing written) and bounded by ``FORM_MAX_BODY_BYTES`` (413).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, make_response, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from fluxolab.common.openapi import error_responses
from fluxolab.common.ratelimit import throttle
from fluxolab.common.security import public
from fluxolab.errors import (
    BadRequest,
    FluxoError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
)
from fluxolab.extensions import client_ip
from fluxolab.forms import csrf, service, texts
from fluxolab.forms.schemas import SUBMISSION_DOC, FormAccepted, FormBody
from fluxolab.triggers import tokens, urls
from fluxolab.triggers.starts import IDEMPOTENCY_KEY_MAX, Started

blp = Blueprint("forms", __name__, url_prefix="/api", description="Public forms")
pages = FlaskBlueprint(
    "form_pages",
    __name__,
    url_prefix="/forms",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _api_path(token: str) -> str:
    return f"/api/forms/{token}"


def _throttle(token: str) -> None:
    """Count a submission per source IP and per form; 429 before any database access."""
    config = current_app.config
    throttle(str(config["FORM_IP_RATE_LIMIT"]), "form-ip", client_ip())
    throttle(str(config["FORM_RATE_LIMIT"]), "form", tokens.token_hash(token)[:32])


def _body_limit() -> int:
    return int(current_app.config["FORM_MAX_BODY_BYTES"])


def _check_size() -> None:
    declared = request.content_length
    if declared is not None and declared > _body_limit():
        raise PayloadTooLarge(f"Envio grande demais (limite de {_body_limit()} bytes).")
    if len(request.get_data(cache=True)) > _body_limit():
        raise PayloadTooLarge(f"Envio grande demais (limite de {_body_limit()} bytes).")


def _call(started: float) -> service.Call:
    return service.Call(
        method=request.method,
        content_type=request.headers.get("Content-Type"),
        user_agent=(request.headers.get("User-Agent") or "")[:300] or None,
        source_ip=client_ip(),
        started=started,
    )


def definition(form: service.Form, token: str) -> dict[str, Any]:
    """Return the public definition of ``form``."""
    return {
        "name": form.name,
        "language": form.language,
        "fields": [
            {
                "name": field.name,
                "label": field.label,
                "type": field.type,
                "required": field.required,
                "options": list(field.options),
                "maxLength": field.max_length,
            }
            for field in form.fields
        ],
        "submitUrl": urls.absolute(_api_path(token)),
        "pageUrl": urls.absolute(urls.form_page_path(token)),
    }


@blp.route("/forms/<string:token>")
class PublicForm(MethodView):
    @public
    @blp.response(200, FormBody)
    def get(self, token: str) -> dict[str, Any]:
        """Show a form's definition (fields, types, required, options)

        Public: the token is the credential. Unknown, disabled and rotated-away tokens and
        inactive workflows answer the same 404.
        """
        return {"status": "ok", "form": definition(service.load(token), token)}

    @public
    @error_responses(402, 409, 413, 422, 429)
    @blp.doc(**SUBMISSION_DOC)
    @blp.response(202, FormAccepted)
    def post(self, token: str) -> dict[str, Any]:
        """Submit a form: validate the values and queue a `form` execution

        Public. 422 `{message, errors:{field:[messages]}}` for invalid values (logged);
        202 `{status:"accepted", executionId}` once the run is queued. An
        `Idempotency-Key` header makes a retried submission return the first execution
        (409 when the same key comes with other values). 429 with Retry-After per source
        IP and per form, 413 over `FORM_MAX_BODY_BYTES`, 402 over the plan's quota.
        """
        started = time.monotonic()
        _throttle(token)
        _check_size()
        form = service.load(token)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("Envie um objeto JSON com os valores dos campos.")
        key = request.headers.get("Idempotency-Key")
        result = service.submit(
            form,
            body,
            _call(started),
            idempotency_key=f"form:{key[:IDEMPOTENCY_KEY_MAX]}" if key else None,
        )
        if not isinstance(result, Started):
            raise service.invalid(form, result)
        return service.accepted(result.execution.id)


# ---- the HTML page ----------------------------------------------------------------


def _secure(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cache-Control"] = "no-store"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    return response


pages.after_request(_secure)


def _page(
    form: service.Form,
    token: str,
    status: int,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> Response:
    """Render the form with a fresh CSRF nonce (hidden input and cookie)."""
    key = texts.texts_key(form.language)
    nonce = csrf.new_nonce()
    html = render_template(
        "forms/form.html",
        form=form,
        lang=form.language,
        t=texts.PAGE[key],
        values=values or {},
        errors=texts.problem_messages(errors or {}, form.limits, key),
        csrf_field=csrf.FIELD,
        csrf_token=csrf.sign(form.trigger.id, nonce),
        action=urls.form_page_path(token),
    )
    response = make_response(html, status)
    response.set_cookie(
        csrf.COOKIE,
        nonce,
        max_age=int(current_app.config["FORM_CSRF_MAX_AGE_SECONDS"]),
        path=urls.form_page_path(token),
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )
    return response


def _message_page(language: str, title_key: str, body: str, status: int) -> Response:
    key = texts.texts_key(language)
    t = texts.PAGE[key]
    html = render_template("forms/message.html", lang=language, t=t, title=t[title_key], body=body)
    return make_response(html, status)


def _error_page(error: FluxoError | HTTPException, language: str | None = None) -> Response:
    lang = language or texts.DEFAULT_LANGUAGE
    t = texts.PAGE[texts.texts_key(lang)]
    if isinstance(error, NotFound) or (isinstance(error, HTTPException) and error.code == 404):
        return _message_page(lang, "not_found_title", t["not_found_body"], 404)
    status = error.status if isinstance(error, FluxoError) else (error.code or 500)
    if isinstance(error, RateLimited):
        response = _message_page(
            lang, "error_title", t["rate_body"].format(retry=error.retry_after or 60), 429
        )
        response.headers.update(error.headers())
        return response
    if status == 413:
        return _message_page(lang, "error_title", t["too_large_body"], 413)
    return _message_page(lang, "error_title", t["generic_body"], status)


@pages.errorhandler(FluxoError)
def _domain_error(error: FluxoError) -> Response:
    return _error_page(error)


@pages.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return _error_page(error)


@pages.get("/<string:token>")
def show_form(token: str) -> Response:
    """Render the form page (or the HTML 404 page)."""
    return _page(service.load(token), token, 200)


def _same_origin() -> bool:
    """Tell whether the browser says the post came from this site (when it says anything).

    ``Sec-Fetch-Site`` is what current browsers send on every request; ``Origin`` is checked
    when it names a site. The page's ``Referrer-Policy: no-referrer`` makes browsers send
    ``Origin: null`` for its own posts, so ``null`` is not taken as cross-site: the signed
    token and the SameSite cookie decide then.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in {"same-origin", "none"}:
        return False
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return True
    return origin.rstrip("/") in {request.host_url.rstrip("/"), urls.base_url()}


@pages.post("/<string:token>")
def submit_form(token: str) -> Response:
    """Take an urlencoded submission: the thank-you page, or the form again with its errors."""
    started = time.monotonic()
    _throttle(token)
    form = service.load(token)
    try:
        _check_size()
    except PayloadTooLarge as error:
        service.refuse(form, _call(started), {}, 413, error.to_body())
        return _error_page(error, form.language)
    submitted = {name: request.form.get(name) for name in request.form if name != csrf.FIELD}
    nonce = csrf.verify(
        form.trigger.id, request.form.get(csrf.FIELD), request.cookies.get(csrf.COOKIE)
    )
    if nonce is None or not _same_origin():
        message = "Token CSRF ausente, invalido ou expirado."
        service.refuse(form, _call(started), submitted, 403, {"message": message})
        t = texts.PAGE[texts.texts_key(form.language)]
        return _message_page(form.language, "error_title", t["csrf_body"], 403)
    result = service.submit(
        form, submitted, _call(started), html=True, idempotency_key=f"page:{nonce}"
    )
    if not isinstance(result, Started):
        return _page(form, token, 422, values=submitted, errors=result.errors)
    t = texts.PAGE[texts.texts_key(form.language)]
    html = render_template(
        "forms/thanks.html", lang=form.language, t=t, form=form, again=urls.form_page_path(token)
    )
    return make_response(html, 200)
