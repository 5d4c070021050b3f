"""The ``fluxolab`` console script: every command's --help, and real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fluxolab.cli import main
from fluxolab.commands import COMMANDS

FLUXOLAB = Path(sys.executable).parent / "fluxolab"
NAMES = sorted(command.name or "" for command in COMMANDS)
UNCONFIGURED = {"FLUXOLAB_ENV": "production", "DATABASE_URL": "", "JWT_SECRET_KEY": ""}


@pytest.mark.parametrize("name", NAMES)
def test_each_command_has_help_without_any_configuration(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"], env=UNCONFIGURED)

    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: main {name} [OPTIONS]")
    assert "Traceback" not in result.output


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("FLUXOLAB")}
    base.pop("DATABASE_URL", None)
    base.pop("CELERY_BROKER_URL", None)
    return subprocess.run(
        [str(FLUXOLAB), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
    )


def test_the_console_script_lists_every_command_on_an_unconfigured_machine() -> None:
    done = run(["--help"], UNCONFIGURED)

    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("Commands:")[1]
    for name in [*NAMES, "standalone"]:
        assert f"  {name} " in listed
    assert "Traceback" not in done.stderr
    assert "DATABASE_URL must be set in production" in done.stderr


def test_a_command_without_configuration_says_why_in_one_line() -> None:
    done = run(["prune"], UNCONFIGURED)

    assert done.returncode == 2
    assert "Error: FluxoLab configuration: DATABASE_URL must be set in production" in done.stderr
    assert "Traceback" not in done.stderr


def test_doctor_as_a_process_passes_on_the_test_services(database_url: str, redis_url: str) -> None:
    done = run(
        ["doctor"],
        {"FLUXOLAB_ENV": "test", "DATABASE_URL": database_url, "CELERY_BROKER_URL": redis_url},
    )

    assert done.returncode == 0, done.stdout + done.stderr
    lines = {line.split()[1]: line.split()[0] for line in done.stdout.splitlines()[:-1]}
    assert lines.pop("sandbox") in {"PASS", "WARN"}  # WARN: a host without network namespaces
    assert lines == {
        "config": "WARN",  # test mode, built-in test secrets
        "database": "PASS",
        "broker": "PASS",
        "egress": "PASS",
        "frontend": "PASS",
    }
    assert done.stdout.splitlines()[-1].endswith(", 0 failed")


def test_doctor_as_a_process_fails_on_a_missing_configuration() -> None:
    done = run(["doctor"], UNCONFIGURED)

    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        "FAIL  config    FluxoLab configuration: DATABASE_URL must be set in production"
    )
