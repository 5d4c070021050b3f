"""Settings of the standalone API server (fluxolab/webserver.py); behaviour is in tests/e2e."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from fluxolab import webserver


def test_adjustments_follow_the_app_limits() -> None:
    config = {"HTTP_CLIENT_TIMEOUT_SECONDS": 30, "MAX_CONTENT_LENGTH": 1000}

    settings = webserver.adjustments("127.0.0.1", 8000, config)

    assert settings.channel_timeout == 30
    assert settings.cleanup_interval == 15
    assert settings.max_request_body_size == 1001  # waitress refuses a body of its limit
    assert settings.connection_limit == webserver.CONNECTION_LIMIT
    assert settings.asyncore_use_poll is True


@pytest.mark.parametrize(
    ("current", "expected", "set_to"),
    [
        ((1024, 4096), 2000, (2000, 4096)),
        ((1024, 1500), 1500, (1500, 1500)),
        ((4096, 4096), 2000, None),
        ((resource.RLIM_INFINITY, resource.RLIM_INFINITY), 2000, None),
    ],
    ids=["raised", "capped-by-hard-limit", "already-enough", "unlimited"],
)
def test_open_file_limit_is_raised_up_to_the_hard_limit(
    monkeypatch: pytest.MonkeyPatch,
    current: tuple[int, int],
    expected: int,
    set_to: tuple[int, int] | None,
) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _kind: current)
    monkeypatch.setattr(resource, "setrlimit", lambda _kind, limits: calls.append(limits))

    assert webserver.raise_open_file_limit(2000) == expected
    assert calls == ([set_to] if set_to else [])


def test_server_entry_points_freeze_what_start_up_built() -> None:
    """wsgi.py (gunicorn) leaves the loaded app out of full garbage collections."""
    code = "import gc, wsgi; print(gc.get_freeze_count())"
    env = {**os.environ, "FLUXOLAB_ENV": "test", "DATABASE_URL": "sqlite://"}
    env.pop("CELERY_BROKER_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert int(done.stdout.strip().splitlines()[-1]) > 10_000
