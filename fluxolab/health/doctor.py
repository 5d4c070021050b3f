"""``fluxolab doctor``: is this machine's configuration ready to run FluxoLab?

Each check answers one ``Check`` (PASS, WARN or FAIL with a line of detail); the command
prints them and exits 1 when any failed. Secrets are judged, never shown.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal

from flask import Flask, current_app
from sqlalchemy.engine import make_url

from fluxolab.config import built_in_secrets
from fluxolab.egress.addresses import AllowList
from fluxolab.egress.policy import EgressPolicy
from fluxolab.engine.sandbox import SandboxError, run_python
from fluxolab.engine.sandbox.bwrap import unavailable_reason
from fluxolab.engine.sandbox.limits import format_bytes, format_seconds
from fluxolab.executions.runner import engine_limits
from fluxolab.health import service

Status = Literal["PASS", "WARN", "FAIL"]
SANDBOX_PROBE = (
    "import os\n"
    "open('doctor-probe', 'w').write('ok')\n"  # the run's own working directory
    "return {'sum': sum(range(10)), 'hostFiles': os.path.exists('/etc/passwd')}"
)
EXPECTED_PROBE = [{"json": {"sum": 45, "hostFiles": False}}]
METADATA_ADDRESS = "169.254.169.254"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    status: Status
    name: str
    detail: str


def _url(url: str) -> str:
    """A URL as shown: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL (e.g. redis://): hide what follows the user
        scheme, _, rest = url.partition("://")
        if "@" in rest:
            rest = "***@" + rest.rsplit("@", 1)[1]
        return f"{scheme}://{rest}" if rest else url


def check_config(config: Mapping[str, Any]) -> Check:
    """The configuration loaded; secrets set and not the built-in ones outside test mode."""

    mode = str(config["FLUXOLAB_ENV"])
    keys = [key for key in str(config["CREDENTIALS_ENCRYPTION_KEYS"]).split(",") if key.strip()]
    source = f" (from {config['VAR_DIR']}/secrets.json)" if mode == "standalone" else ""
    parts = [
        f"FLUXOLAB_ENV={mode}",
        f"JWT_SECRET_KEY set, {len(keys)} credential key{'s' if len(keys) != 1 else ''}{source}",
    ]
    if not config.get("TRIGGER_TOKEN_KEY"):
        parts.append("TRIGGER_TOKEN_KEY derived from JWT_SECRET_KEY")
    detail = "; ".join(parts)
    defaults = built_in_secrets(config)
    if defaults:
        status: Status = "FAIL" if mode in {"production", "development"} else "WARN"
        return Check(status, "config", f"{detail}; built-in test value of {', '.join(defaults)}")
    if mode == "production" and not config.get("FLOWER_BASIC_AUTH"):
        return Check("WARN", "config", f"{detail}; FLOWER_BASIC_AUTH unset (Flower has no login)")
    if mode == "test":
        return Check("WARN", "config", f"{detail}; test mode (cheap hashing, not for real use)")
    return Check("PASS", "config", detail)


def check_database(config: Mapping[str, Any]) -> Check:
    """The database answers and is at the migration head of this code."""
    where = _url(str(config["SQLALCHEMY_DATABASE_URI"]))
    problem = service.check_database()
    if problem:
        hint = "is it running? migrate it with `flask --app wsgi db upgrade`"
        return Check("FAIL", "database", f"{where}: {problem} ({hint})")
    heads = ", ".join(sorted(service.migration_heads()))
    return Check("PASS", "database", f"{where} at the migration head ({heads})")


def _unwritable(folder: str) -> str | None:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            return None
    except OSError as exc:
        return f"{folder}: {exc.strerror or exc}"


def check_broker(app: Flask) -> Check:
    """Redis answers, or the filesystem broker's folders are writable."""
    celery = app.extensions["celery"]
    url = str(celery.conf.broker_url)
    if url.startswith("filesystem"):
        options = celery.conf.broker_transport_options or {}
        folders = sorted(
            {str(options[key]) for key in ("data_folder_in", "processed_folder", "control_folder")}
        )
        problems = [problem for folder in folders if (problem := _unwritable(folder))]
        if problems:
            return Check("FAIL", "broker", f"filesystem broker: {'; '.join(problems)}")
        return Check("PASS", "broker", f"filesystem broker, writable: {', '.join(folders)}")
    problem = service.check_broker()
    if problem:
        return Check("FAIL", "broker", f"{_url(url)}: {problem}")
    return Check("PASS", "broker", f"{_url(url)} reachable")


def check_sandbox() -> Check:
    """Run a probe in the Code node's sandbox with the workers' limits, as a run would."""

    limits = engine_limits().code
    try:
        result = run_python(SANDBOX_PROBE, [], limits)
    except SandboxError as exc:
        return Check("FAIL", "sandbox", f"a Code node run failed: {exc.message}")
    reason = unavailable_reason()
    if reason is not None:
        return Check("WARN", "sandbox", f"runs are NOT confined ({reason})")
    if result.items != EXPECTED_PROBE:
        return Check("FAIL", "sandbox", f"the probe run answered {result.items!r}")
    network = "no network" if result.network_isolated else "WITH network access"
    status: Status = "PASS" if result.network_isolated else "WARN"
    limits_text = (
        f"{format_seconds(limits.cpu_seconds)} CPU, {format_seconds(limits.wall_seconds)} wall, "
        f"{format_bytes(limits.memory_bytes)}"
    )
    return Check(
        status,
        "sandbox",
        f"bwrap confines Code node runs (uid {os.geteuid()}): {network}, no host files, "
        f"{limits_text}, in {result.duration_ms} ms",
    )


def check_egress(config: Mapping[str, Any]) -> Check:
    """What outbound requests may reach: public addresses plus ``EGRESS_ALLOW``."""

    policy = EgressPolicy.from_config(config)
    allowed = AllowList.parse(policy.allow)
    ignored = [entry for entry in policy.allow if AllowList.parse([entry]) == AllowList()]
    caps = (
        f"responses up to {format_bytes(policy.max_response_bytes)}, "
        f"{format_seconds(policy.timeout_s)} per request, {policy.max_redirects} redirects"
    )
    opened = ", ".join(policy.allow) if policy.allow else "nothing"
    detail = (
        "blocked: loopback, private, link-local, CGNAT, multicast, reserved, documentation and "
        f"unspecified addresses (IPv4, IPv6, embedded IPv4); EGRESS_ALLOW opens {opened}; {caps}"
    )
    warnings = []
    if ignored:
        warnings.append(f"EGRESS_ALLOW entries ignored (not a host or network): {ignored}")
    if allowed.allows_address(ip_address(METADATA_ADDRESS)):
        warnings.append(f"the cloud metadata address {METADATA_ADDRESS} is open")
    wide = [str(net) for net in allowed.networks if net.prefixlen < 8]
    if wide:
        warnings.append(f"very wide networks are open: {', '.join(wide)}")
    loopback = ("127.0.0.1", "::1")
    if any(allowed.allows_address(ip_address(a)) for a in loopback) or "localhost" in allowed.hosts:
        warnings.append("loopback is open (this host's own services)")
    if warnings:
        return Check("WARN", "egress", f"{detail}; {'; '.join(warnings)}")
    return Check("PASS", "egress", detail)


def check_frontend(app: Flask) -> Check:
    """The frontend build the API serves at /, when one is configured."""

    configured = str(app.config.get("FRONTEND_DIR") or "")
    if not configured:
        return Check("PASS", "frontend", "none served (FLUXOLAB_FRONTEND_DIR unset)")
    root = Path(configured).resolve()
    if not (root / "index.html").is_file():  # what fluxolab.frontend requires to serve it
        return Check("FAIL", "frontend", f"{configured} has no index.html")
    assets = sum(1 for path in Path(root).rglob("*") if path.is_file())
    return Check("PASS", "frontend", f"serving {root} ({assets} files)")


def run_checks() -> list[Check]:
    """Every check after the configuration, in the app context."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    return [
        check_config(config),
        check_database(config),
        check_broker(app),
        check_sandbox(),
        check_egress(config),
        check_frontend(app),
    ]
