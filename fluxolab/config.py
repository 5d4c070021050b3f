"""Configuration read from the environment (12-factor), with safe local defaults.

Every variable is listed in ``.env.example``. ``FLUXOLAB_ENV`` selects the mode:
``production`` (the default: secrets must be set explicitly), ``standalone`` (``make run``:
SQLite, filesystem broker and secrets generated once under ``FLUXOLAB_VAR_DIR``),
``test`` and ``development``.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

MODES = ("production", "standalone", "test", "development")
_UNSAFE_SECRETS = {"", "change-me", "changeme", "secret", "dev"}
_TEST_SECRETS = {
    "JWT_SECRET_KEY": "test-jwt-secret-key-0123456789abcdef0123456789abcdef",
    "CREDENTIALS_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZlcm5ldC1rZXktMDEyMzQ1Njc4OTA=",
}


def built_in_secrets(config: Mapping[str, Any]) -> list[str]:
    """Name the secrets of ``config`` that hold the built-in test values."""
    return [name for name, value in _TEST_SECRETS.items() if str(config.get(name)) == value]


def env_str(name: str, default: str = "") -> str:
    """Return an environment variable as a stripped string."""
    return os.environ.get(name, default).strip()


def env_int(name: str, default: int) -> int:
    """Return an environment variable as an int, failing loudly on garbage."""
    raw = env_str(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    """Return an environment variable as a float, failing loudly on garbage."""
    raw = env_str(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    """Return an environment variable as a bool (1/true/yes/on)."""
    raw = env_str(name).lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def env_list(name: str) -> list[str]:
    """Return a comma-separated environment variable as a list of non-empty items."""
    return [part.strip() for part in env_str(name).split(",") if part.strip()]


def var_dir() -> Path:
    """Return the local data folder (standalone database, broker, secrets, outbox)."""
    return Path(env_str("FLUXOLAB_VAR_DIR", "var")).resolve()


def load_or_create_local_secrets(folder: Path) -> dict[str, str]:
    """Read ``secrets.json`` from ``folder``, generating it once (mode 0600) when missing.

    A file found readable by others (copied, restored from a backup) is made 0600 again.
    """
    path = folder / "secrets.json"
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        data: dict[str, str] = json.loads(path.read_text())
        return _add_missing_local_secrets(path, data)
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "CREDENTIALS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "FLOWER_BASIC_AUTH": f"admin:{secrets.token_urlsafe(12)}",
        "METRICS_TOKEN": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    return data


def _add_missing_local_secrets(path: Path, data: dict[str, str]) -> dict[str, str]:
    """Add the secrets a newer version generates to a ``secrets.json`` written before them."""
    missing = {"METRICS_TOKEN": secrets.token_urlsafe(32)}
    added = {name: value for name, value in missing.items() if not data.get(name)}
    if not added:
        return data
    data = {**data, **added}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.replace(temporary, path)
    return data


MIN_SECRET_LENGTH = 32


def _secret(name: str, mode: str, local: dict[str, str]) -> str:
    """Return a secret; outside standalone/test it must be set, not a default, and long."""
    value = env_str(name) or local.get(name, "")
    if mode == "test" and not value:
        return _TEST_SECRETS[name]
    if mode in {"standalone", "test"}:
        return value
    if value.lower() in _UNSAFE_SECRETS or len(value) < MIN_SECRET_LENGTH:
        raise RuntimeError(
            f"{name} must be set to a random value of at least {MIN_SECRET_LENGTH} characters "
            "outside standalone/test mode"
        )
    return value


def _check_fernet_keys(value: str) -> None:
    """Fail at startup, not at first use, when a credential key is not a valid Fernet key."""
    for key in filter(None, (part.strip() for part in value.split(","))):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError) as exc:
            raise RuntimeError("CREDENTIALS_ENCRYPTION_KEYS holds an invalid Fernet key") from exc


def _database_url(mode: str, folder: Path) -> str:
    url = env_str("DATABASE_URL")
    if not url and mode == "production":
        raise RuntimeError("DATABASE_URL must be set in production")
    return url or f"sqlite:///{folder / 'fluxolab.db'}"


# The PostgreSQL drivers FluxoLab runs on, both installed; the URL's scheme picks one
# (``postgresql+psycopg2://`` or ``postgresql+psycopg://``). A scheme without a driver
# (``postgresql://``, ``postgres://``) gets the default, the faster one on bench/ (see the
# README's "PostgreSQL driver").
POSTGRES_DRIVERS = ("psycopg", "psycopg2")
DEFAULT_POSTGRES_DRIVER = "psycopg"


def with_postgres_driver(url: str) -> str:
    """Return ``url`` with its PostgreSQL driver spelled out; other databases unchanged.

    Refuses a PostgreSQL driver other than ``POSTGRES_DRIVERS``: at startup, not at the
    first query.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    dialect, _, driver = scheme.partition("+")
    if dialect not in {"postgresql", "postgres"}:
        return url
    driver = driver or DEFAULT_POSTGRES_DRIVER
    if driver not in POSTGRES_DRIVERS:
        raise RuntimeError(
            f"DATABASE_URL: PostgreSQL driver {driver!r} is not supported; "
            "use postgresql+psycopg:// or postgresql+psycopg2://"
        )
    return f"postgresql+{driver}://{rest}"


def build_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the Flask config mapping from the environment plus ``overrides``."""
    overrides = overrides or {}
    mode = str(overrides.get("FLUXOLAB_ENV") or env_str("FLUXOLAB_ENV", "production"))
    if mode not in MODES:
        raise RuntimeError(f"FLUXOLAB_ENV must be one of {', '.join(MODES)}, got {mode!r}")
    folder = var_dir()
    local = load_or_create_local_secrets(folder) if mode == "standalone" else {}
    config: dict[str, Any] = {
        "FLUXOLAB_ENV": mode,
        "VAR_DIR": str(folder),
        "SQLALCHEMY_DATABASE_URI": _database_url(mode, folder),
        # No ping per checkout (a round trip on every transaction): a connection broken by a
        # database restart fails once (503), SQLAlchemy then drops the whole pool by itself.
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": env_bool("DATABASE_POOL_PRE_PING", False),
            "pool_recycle": env_int("DATABASE_POOL_RECYCLE_SECONDS", 1800),
        },
        "SQLALCHEMY_RECORD_QUERIES": False,
        "DATABASE_CONNECT_TIMEOUT_SECONDS": env_int("DATABASE_CONNECT_TIMEOUT_SECONDS", 3),
        "JWT_SECRET_KEY": _secret("JWT_SECRET_KEY", mode, local),
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(seconds=env_int("JWT_ACCESS_TOKEN_SECONDS", 43200)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(
            seconds=env_int("JWT_REFRESH_TOKEN_SECONDS", 30 * 86400)
        ),
        "JWT_TOKEN_LOCATION": ["headers"],
        "CREDENTIALS_ENCRYPTION_KEYS": _secret("CREDENTIALS_ENCRYPTION_KEYS", mode, local),
        # keys the lookup hash of webhook and form tokens; empty: derived from JWT_SECRET_KEY
        "TRIGGER_TOKEN_KEY": env_str("TRIGGER_TOKEN_KEY"),
        # what webhook and form callers see (https://flows.example.com); empty: the request's host
        "PUBLIC_BASE_URL": env_str("PUBLIC_BASE_URL"),
        # a built FluxoLab frontend (its dist/): served at / on the API's origin; empty: not served
        "FRONTEND_DIR": env_str("FLUXOLAB_FRONTEND_DIR"),
        "SIGNUP_ACCESS_TOKEN": env_str("SIGNUP_ACCESS_TOKEN"),
        "CORS_ORIGINS": env_list("CORS_ORIGINS"),
        "MAX_CONTENT_LENGTH": env_int("MAX_BODY_BYTES", 1024 * 1024),
        "HTTP_CLIENT_TIMEOUT_SECONDS": env_int("HTTP_CLIENT_TIMEOUT_SECONDS", 30),
        "MAX_JSON_DEPTH": env_int("MAX_JSON_DEPTH", 64),
        "RATELIMIT_STORAGE_URI": env_str(
            "RATELIMIT_STORAGE_URI",
            "memory://"
            if mode in {"standalone", "development"}
            else env_str("REDIS_URL", "redis://127.0.0.1:6379/1"),
        ),
        "RATELIMIT_ENABLED": env_bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "TRUSTED_PROXY_HOPS": env_int("TRUSTED_PROXY_HOPS", 0),
        "REGISTER_RATE_LIMIT": env_str("REGISTER_RATE_LIMIT", "20 per hour"),
        "LOGIN_RATE_LIMIT": env_str("LOGIN_RATE_LIMIT", "10 per minute"),
        "PASSWORD_RESET_RATE_LIMIT": env_str("PASSWORD_RESET_RATE_LIMIT", "5 per hour"),
        "CREDENTIAL_TEST_RATE_LIMIT": env_str("CREDENTIAL_TEST_RATE_LIMIT", "10 per minute"),
        # public form submissions (POST /api/forms/<token>, POST /forms/<token>)
        "FORM_RATE_LIMIT": env_str("FORM_RATE_LIMIT", "60 per minute"),
        "FORM_IP_RATE_LIMIT": env_str("FORM_IP_RATE_LIMIT", "10 per minute"),
        "FORM_MAX_BODY_BYTES": env_int("FORM_MAX_BODY_BYTES", 64 * 1024),
        "FORM_CSRF_MAX_AGE_SECONDS": env_int("FORM_CSRF_MAX_AGE_SECONDS", 7200),
        "SMTP_HOST": env_str("SMTP_HOST"),
        "SMTP_PORT": env_int("SMTP_PORT", 587),
        "SMTP_USER": env_str("SMTP_USER"),
        "SMTP_PASSWORD": env_str("SMTP_PASSWORD"),
        "SMTP_SECURITY": env_str("SMTP_SECURITY", "starttls"),
        "MAIL_FROM": env_str("MAIL_FROM", "FluxoLab <no-reply@fluxolab.local>"),
        "MAIL_OUTBOX_DIR": env_str("MAIL_OUTBOX_DIR", str(folder / "outbox")),
        "SMTP_CA_FILE": env_str("SMTP_CA_FILE"),
        "FRONTEND_LOGIN_URL": env_str("FRONTEND_LOGIN_URL", "/login"),
        "FLOWER_BASIC_AUTH": env_str("FLOWER_BASIC_AUTH") or local.get("FLOWER_BASIC_AUTH", ""),
        **metrics_settings(mode, local),
        "API_TITLE": "FluxoLab API",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": env_str("SWAGGER_UI_URL", "/api/docs/assets/"),
    }
    config.update(execution_settings())
    config.update(node_test_settings())
    config.update(webhook_settings())
    config.update(schedule_settings())
    config.update(overrides)
    if isinstance(config["SQLALCHEMY_DATABASE_URI"], str):
        config["SQLALCHEMY_DATABASE_URI"] = with_postgres_driver(config["SQLALCHEMY_DATABASE_URI"])
    _check_fernet_keys(str(config["CREDENTIALS_ENCRYPTION_KEYS"]))
    return config


def execution_settings() -> dict[str, Any]:
    """Execution engine and worker settings (limits, leases, retention)."""
    return {
        "EXECUTION_TIMEOUT_SECONDS": env_int("EXECUTION_TIMEOUT_SECONDS", 300),
        "EXECUTION_MAX_ITEMS_PER_STEP": env_int("EXECUTION_MAX_ITEMS_PER_STEP", 10_000),
        "EXECUTION_MAX_STEP_BYTES": env_int("EXECUTION_MAX_STEP_BYTES", 256 * 1024),
        "EXECUTION_LEASE_SECONDS": env_int("EXECUTION_LEASE_SECONDS", 60),
        "EXECUTION_MAX_DELIVERIES": env_int("EXECUTION_MAX_DELIVERIES", 3),
        "SUBWORKFLOW_MAX_DEPTH": env_int("SUBWORKFLOW_MAX_DEPTH", 5),
        "EXECUTION_REPUBLISH_AFTER_SECONDS": env_int("EXECUTION_REPUBLISH_AFTER_SECONDS", 30),
        "EXECUTION_RETENTION_DAYS": env_int("EXECUTION_RETENTION_DAYS", 30),
        "EXECUTION_RETENTION_MAX_PER_WORKSPACE": env_int(
            "EXECUTION_RETENTION_MAX_PER_WORKSPACE", 100_000
        ),
        "EXECUTION_PRUNE_BATCH": env_int("EXECUTION_PRUNE_BATCH", 500),
        "WEBHOOK_LOG_RETENTION_DAYS": env_int("WEBHOOK_LOG_RETENTION_DAYS", 30),
        "AUDIT_RETENTION_DAYS": env_int("AUDIT_RETENTION_DAYS", 365),
        "CODE_CPU_SECONDS": env_int("CODE_CPU_SECONDS", 5),
        "CODE_WALL_SECONDS": env_int("CODE_WALL_SECONDS", 10),
        "CODE_MEMORY_MB": env_int("CODE_MEMORY_MB", 256),
        "CODE_SANDBOX_REQUIRE_ISOLATION": env_bool("CODE_SANDBOX_REQUIRE_ISOLATION", True),
        "EGRESS_ALLOW": env_str("EGRESS_ALLOW"),
        "EGRESS_MAX_RESPONSE_BYTES": env_int("EGRESS_MAX_RESPONSE_BYTES", 10 * 1024 * 1024),
        "EGRESS_TIMEOUT_SECONDS": env_int("EGRESS_TIMEOUT_SECONDS", 30),
        "EGRESS_MAX_REDIRECTS": env_int("EGRESS_MAX_REDIRECTS", 5),
    }


def node_test_settings() -> dict[str, Any]:
    """Single-node tests (``POST /api/workflows/nodes/test``) and waiting for workers."""
    return {
        "NODE_TEST_WAIT_SECONDS": env_float("NODE_TEST_WAIT_SECONDS", 10.0),
        "NODE_TEST_TIMEOUT_SECONDS": env_float("NODE_TEST_TIMEOUT_SECONDS", 30.0),
        "NODE_TEST_RESULT_TTL_SECONDS": env_int("NODE_TEST_RESULT_TTL_SECONDS", 3600),
        "NODE_TEST_RATE_LIMIT": env_str("NODE_TEST_RATE_LIMIT", "60 per minute"),
        "MAX_WAITERS_PER_PROCESS": env_int("MAX_WAITERS_PER_PROCESS", 2),
    }


def webhook_settings() -> dict[str, Any]:
    """The public webhook intake: limits, waits and signature tolerance."""
    return {
        # calls per minute per webhook (a webhook's own setting overrides it) and per source IP
        "WEBHOOK_RATE_LIMIT_PER_MINUTE": env_int("WEBHOOK_RATE_LIMIT_PER_MINUTE", 6000),
        "WEBHOOK_IP_RATE_LIMIT_PER_MINUTE": env_int("WEBHOOK_IP_RATE_LIMIT_PER_MINUTE", 6000),
        # how long ``when_complete`` and ``via_node`` calls wait before answering 202
        "WEBHOOK_WAIT_SECONDS": env_float("WEBHOOK_WAIT_SECONDS", 30.0),
        # Standard Webhooks: how far webhook-timestamp may be from the server's clock
        "WEBHOOK_SIGNATURE_TOLERANCE_SECONDS": env_int("WEBHOOK_SIGNATURE_TOLERANCE_SECONDS", 300),
        # characters of a call's body kept in its log row
        "WEBHOOK_LOG_BODY_CHARS": env_int("WEBHOOK_LOG_BODY_CHARS", 8192),
    }


def metrics_settings(mode: str, local: dict[str, str]) -> dict[str, Any]:
    """``GET /metrics`` (off without a token) and the Celery workers' own metrics port."""
    token = env_str("METRICS_TOKEN") or local.get("METRICS_TOKEN", "")
    if token and mode not in {"standalone", "test"} and len(token) < MIN_SECRET_LENGTH:
        raise RuntimeError(
            f"METRICS_TOKEN must be at least {MIN_SECRET_LENGTH} characters (or empty: no /metrics)"
        )
    return {
        "METRICS_TOKEN": token,
        # 0: the worker serves no metrics of its own (standalone: the api's /metrics sums it)
        "WORKER_METRICS_PORT": env_int("WORKER_METRICS_PORT", 0),
        "WORKER_METRICS_ADDRESS": env_str("WORKER_METRICS_ADDRESS", "127.0.0.1"),
    }


SCHEDULE_CATCH_UP_MODES = ("one", "none", "all")


def schedule_settings() -> dict[str, Any]:
    """Schedule triggers: how beat treats due times missed while it was not running."""
    mode = env_str("SCHEDULE_CATCH_UP", "one").lower()
    if mode not in SCHEDULE_CATCH_UP_MODES:
        raise RuntimeError(f"SCHEDULE_CATCH_UP must be one of {', '.join(SCHEDULE_CATCH_UP_MODES)}")
    return {
        "SCHEDULE_CATCH_UP": mode,
        "SCHEDULE_CATCH_UP_MAX": env_int("SCHEDULE_CATCH_UP_MAX", 100),
        "SCHEDULE_MISFIRE_GRACE_SECONDS": env_int("SCHEDULE_MISFIRE_GRACE_SECONDS", 120),
        "SCHEDULE_BATCH": env_int("SCHEDULE_BATCH", 200),
    }
