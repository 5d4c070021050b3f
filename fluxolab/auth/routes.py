"""HTTP routes of ``/api/auth`` (contract section 2)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from flask import current_app, redirect, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.wrappers import Response

from fluxolab.auth import reset, service
from fluxolab.auth.schemas import (
    ForgotIn,
    LoginIn,
    LoginOut,
    MeOut,
    OAuthArgs,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    ResetIn,
    VerifyIn,
    VerifyOut,
)
from fluxolab.common.openapi import error_responses
from fluxolab.common.ratelimit import hit_or_raise, json_field_key
from fluxolab.common.schemas import MessageSchema
from fluxolab.common.security import auth_required, current_actor, public
from fluxolab.errors import BadRequest, NotFound, error_body
from fluxolab.extensions import client_ip, limiter
from fluxolab.models import User

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign-up, login, tokens")

OAUTH_PROVIDERS = {"google", "github"}


def user_body(user: User, workspace_id: uuid.UUID | None) -> dict[str, Any]:
    """Return the user fields (with the token's workspace) for ``UserOut``."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "avatar_color": user.avatar_color,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "last_login_at": user.last_login_at,
        "workspace_id": workspace_id,
    }


def _login_body(login: service.Login) -> dict[str, Any]:
    return {
        "status": "ok",
        "token": login.tokens.access_token,
        "refreshToken": login.tokens.refresh_token,
        "user": user_body(login.user, login.workspace_id),
    }


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _register_limit() -> str:
    return str(current_app.config["REGISTER_RATE_LIMIT"])


@blp.route("/register")
class Register(MethodView):
    decorators = [
        limiter.limit(_register_limit, key_func=client_ip, scope="register-ip", methods=["POST"])
    ]

    @public
    @error_responses(402, 403, 404, 409, 429)
    @blp.arguments(RegisterIn)
    @blp.response(201, RegisterOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create an account and its workspace

        Public. The password follows the reset policy (8-72 characters with lower and upper
        case, a digit and one of @$!%*?&; 422 otherwise). With `SIGNUP_ACCESS_TOKEN` set,
        `accessToken` must match it (403 otherwise). A taken e-mail is a 409. With
        `inviteToken` (from an invitation e-mail to this address) the user joins that
        workspace instead of getting a new one.
        """
        user = service.register(
            body["email"],
            body["password"],
            body["displayName"],
            body["avatarColor"],
            body["accessToken"],
            body["inviteToken"],
        )
        return {"status": "created", "user": user}


@blp.route("/login")
class LoginView(MethodView):
    decorators = [
        limiter.limit(_login_limit, key_func=client_ip, scope="login-ip", methods=["POST"]),
        limiter.limit(
            _login_limit,
            key_func=lambda: json_field_key("email"),
            scope="login-account",
            methods=["POST"],
        ),
    ]

    @public
    @error_responses(401, 429)
    @blp.arguments(LoginIn)
    @blp.response(200, LoginOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Log in with e-mail and password

        Public; rate limited per IP and per account (429 with Retry-After).
        Bad credentials are a 401 "Credenciais invalidas.".
        """
        login = service.login(
            body["email"], body["password"], client_ip(), request.headers.get("User-Agent")
        )
        return _login_body(login)


@blp.route("/refresh")
class Refresh(MethodView):
    @public
    @error_responses(401)
    @blp.arguments(RefreshIn)
    @blp.response(200, LoginOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange a refresh token for a new token pair

        Public (the refresh token is the credential). Each refresh token works once; reusing
        one ends its whole session.
        """
        return _login_body(service.refresh(body["refreshToken"]))


@blp.route("/logout")
class Logout(MethodView):
    @auth_required()
    @blp.response(200, MessageSchema)
    def post(self) -> dict[str, Any]:
        """End the current session (its access and refresh tokens stop working)"""
        service.logout(current_actor().session_id)
        return {"status": "ok", "message": "Sessao encerrada."}


@blp.route("/me")
class Me(MethodView):
    @auth_required()
    @blp.response(200, MeOut)
    def get(self) -> dict[str, Any]:
        """Return the logged-in user"""
        actor = current_actor()
        return {
            "status": "ok",
            "user": user_body(service.get_user(actor.user_id), actor.workspace_id),
        }


def _reset_limit(scope: str, identifier: str) -> None:
    kind, value = reset.normalize_identifier(identifier)
    hit_or_raise(
        str(current_app.config["PASSWORD_RESET_RATE_LIMIT"]),
        scope,
        [f"id:{kind}:{value}", f"ip:{client_ip()}"],
        BadRequest("Muitas solicitacoes; tente novamente mais tarde.", code="rate_limited"),
    )


@blp.route("/password/forgot")
class Forgot(MethodView):
    @public
    @blp.arguments(ForgotIn)
    @blp.response(200, MessageSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send a 6-digit reset code by e-mail

        Public. Same answer whether or not the account exists. A malformed identifier or more
        than 5 requests per hour per identifier or per IP is a 400.
        """
        _reset_limit("password-forgot", body["identifier"])
        reset.request_code(body["identifier"], client_ip())
        return {"status": "ok", "message": reset.FORGOT_MESSAGE}


@blp.route("/password/verify")
class Verify(MethodView):
    @public
    @blp.arguments(VerifyIn)
    @blp.response(200, VerifyOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check a reset code and get a single-use reset token (10 minutes)

        Public. A wrong or expired code is a 400; after 5 wrong attempts the code is spent.
        """
        _reset_limit("password-verify", body["identifier"])
        return {"status": "ok", "resetToken": reset.verify_code(body["identifier"], body["code"])}


@blp.route("/password/reset")
class Reset(MethodView):
    @public
    @blp.arguments(ResetIn)
    @blp.response(200, MessageSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Set a new password with a reset token

        Public. The password needs 8-72 characters with lower and upper case, a digit and one
        of @$!%*?&. Every open session of the user is ended.
        """
        reset.reset_password(body["resetToken"], body["newPassword"])
        return {"status": "ok", "message": "Senha alterada com sucesso."}


@blp.route("/oauth/<provider>")
class OAuth(MethodView):
    @public
    @blp.arguments(OAuthArgs, location="query")
    @blp.response(302, MessageSchema)
    def get(self, args: dict[str, Any], provider: str) -> Response:
        """Social login (not available): redirect back to the login page with an explanation

        Public, reached by browser navigation. Unknown providers are a 404.
        """
        if provider not in OAUTH_PROVIDERS:
            raise NotFound("Provedor de login desconhecido.")
        target = current_app.config["FRONTEND_LOGIN_URL"]
        message = f"Login com {provider.title()} ainda nao esta disponivel; use e-mail e senha."
        query = urlencode({"error": "oauth_unavailable", "message": message})
        response = redirect(f"{target}?{query}", code=302)
        response.set_data(json.dumps(error_body(message, "oauth_unavailable")))
        response.mimetype = "application/json"
        return response
