"""Every environment variable the code reads is in .env.example and in README's table."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("fluxolab", "workers", "celeryconfig.py", "wsgi.py")
NAME = r"""["']([A-Z][A-Z0-9_]*)["']"""
READS = re.compile(
    r"(?:\b(?:os\.environ\.get|os\.getenv|os\.environ\.setdefault|environ\.get"
    rf"|env_str|env_int|env_float|env_bool|env_list|_secret)\(\s*{NAME}"
    rf"|\bos\.environ\[\s*{NAME}\s*\](?!\s*=[^=])"
    rf"|\benvvar\s*=\s*{NAME})"
)
# Variables of the Python runtime and the OS that the code passes on to child processes.
NOT_CONFIGURATION = {"PATH", "HOME", "TMPDIR", "PYTHONPATH", "PYTHONUNBUFFERED"}
ASSIGNMENT = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=(.*)$")
TABLE_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", re.M)
SECRETS = (
    "JWT_SECRET_KEY",
    "CREDENTIALS_ENCRYPTION_KEYS",
    "FLOWER_BASIC_AUTH",
    "POSTGRES_PASSWORD",
)
# `make run` loads ./.env through the Flask CLI: these must not point it at compose hosts.
INFRASTRUCTURE = ("FLUXOLAB_ENV", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")


def python_files() -> list[Path]:
    """Return the Python sources whose environment reads must be documented."""
    files: list[Path] = []
    for entry in SCANNED:
        path = ROOT / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def code_variables() -> set[str]:
    """Return the names of every environment variable read in the scanned sources."""
    names: set[str] = set()
    for path in python_files():
        for groups in READS.findall(path.read_text()):
            names.update(name for name in groups if name)
    return names - NOT_CONFIGURATION


def env_example_lines() -> list[str]:
    return (ROOT / ".env.example").read_text().splitlines()


def env_example_values() -> dict[str, str]:
    """Return ``{name: value}`` of every line (commented or not) that assigns a variable."""
    values: dict[str, str] = {}
    for line in env_example_lines():
        match = ASSIGNMENT.match(line)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def readme_table_variables() -> set[str]:
    """Return the variables listed in the tables of README's ``## Configuration`` section."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Configuration\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "README.md has no '## Configuration' section"
    return set(TABLE_ROW.findall(match.group(1)))


def test_scanner_finds_variables_read_in_every_style() -> None:
    expected = {
        "FLUXOLAB_HOST",  # click envvar=
        "JWT_SECRET_KEY",  # _secret()
        "CELERY_BROKER_URL",  # os.environ.get() in celeryconfig.py
        "LOG_LEVEL",  # os.environ.get() in fluxolab/__init__.py
        "DATABASE_URL",  # env_str()
        "MAX_BODY_BYTES",  # env_int()
        "RATELIMIT_ENABLED",  # env_bool()
        "CORS_ORIGINS",  # env_list()
    }
    assert expected <= code_variables()


@pytest.mark.parametrize("name", sorted(code_variables()))
def test_variable_read_by_the_code_is_in_env_example(name: str) -> None:
    assert name in env_example_values()


@pytest.mark.parametrize("name", sorted(code_variables()))
def test_variable_read_by_the_code_is_in_the_readme_configuration_table(name: str) -> None:
    assert name in readme_table_variables()


@pytest.mark.parametrize("name", sorted(env_example_values()))
def test_env_example_variable_is_in_the_readme_configuration_table(name: str) -> None:
    assert name in readme_table_variables()


def test_env_example_explains_every_variable_in_the_comment_above_it() -> None:
    lines = env_example_lines()
    unexplained = [
        line
        for previous, line in pairwise(lines)
        if ASSIGNMENT.match(line) and (not previous.startswith("#") or ASSIGNMENT.match(previous))
    ]
    assert unexplained == []


def test_env_example_assigns_each_variable_once() -> None:
    names = [m.group(1) for m in map(ASSIGNMENT.match, env_example_lines()) if m]
    assert sorted(names) == sorted(set(names))


@pytest.mark.parametrize("name", SECRETS)
def test_env_example_leaves_secret_empty(name: str) -> None:
    assert f"{name}=" in env_example_lines()


@pytest.mark.parametrize("name", INFRASTRUCTURE)
def test_env_example_keeps_infrastructure_setting_commented_out(name: str) -> None:
    lines = env_example_lines()
    assert any(line.startswith(f"# {name}=") for line in lines)
    assert not any(line.startswith(f"{name}=") for line in lines)
