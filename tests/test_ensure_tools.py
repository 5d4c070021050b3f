"""scripts/ensure-tools.sh on a machine without the tools, simulated with bubblewrap.

The tools are hidden (an empty, non-executable file bound over each binary, a tmpfs over
``/usr/lib/postgresql``); nothing is installed: root runs use ``--dry-run``, which prints the
apt-get commands instead of running them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "ensure-tools.sh"
BINARIES = ("redis-server", "bwrap", "nginx", "prometheus", "initdb", "pg_ctl", "chromium")
FIXED = ("/usr/sbin/nginx", "/usr/bin/chromium", "/usr/bin/prometheus")


def hidden_tools_argv(tmp_path: Path, *, apt: bool) -> list[str]:
    """bwrap argv running a command with every tool the script looks for hidden."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        pytest.skip("bubblewrap is needed to simulate a machine without the tools")
    blank = tmp_path / "blank"
    blank.write_text("")
    blank.chmod(0o644)
    argv = [bwrap, "--bind", "/", "/", "--dev", "/dev"]
    if os.path.isdir("/usr/lib/postgresql"):
        argv += ["--tmpfs", "/usr/lib/postgresql"]
    paths = {shutil.which(name) for name in BINARIES} | set(FIXED)
    if not apt:
        paths.add(shutil.which("apt-get"))
    for path in sorted(p for p in paths if p and os.path.isfile(p)):
        if not os.path.realpath(path).startswith("/usr/lib/postgresql/"):
            argv += ["--ro-bind", str(blank), path]
    return argv


def run(argv: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*argv, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False
    )
    if "bwrap:" in done.stderr and "ensure-tools" not in done.stderr:
        pytest.skip(f"bubblewrap cannot build the simulated machine here: {done.stderr.strip()}")
    return done


@pytest.mark.skipif(os.geteuid() != 0, reason="the apt-get path is taken as root only")
def test_as_root_with_apt_get_it_installs_exactly_the_missing_packages(tmp_path: Path) -> None:
    done = run(hidden_tools_argv(tmp_path, apt=True), "test", "--dry-run")

    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert [line for line in lines if "would run" in line] == [
        "ensure-tools: would run: apt-get update -qq",
        "ensure-tools: would run: apt-get install -y -qq --no-install-recommends "
        "postgresql redis-server bubblewrap",
        "ensure-tools: would run: apt-get install -y -qq --no-install-recommends "
        "chromium nginx prometheus",
    ]


def test_without_root_it_names_the_packages_and_fails_on_required_ones(tmp_path: Path) -> None:
    argv = [*hidden_tools_argv(tmp_path, apt=True), "--unshare-user", "--uid", "1000"]

    services = run(argv, "services")
    run_profile = run(argv, "run")

    assert services.returncode == 2
    assert "missing (not running as root, so not installed):" in services.stderr
    assert "  postgresql: PostgreSQL server binaries (initdb, pg_ctl)" in services.stderr
    assert "warning: missing (the tests that use them skip):\n  nginx:" in services.stderr
    assert "sudo apt-get install postgresql redis-server nginx" in services.stderr
    assert run_profile.returncode == 0  # make run: bubblewrap is optional
    assert "Code-node runs are refused until it is installed" in run_profile.stderr
    assert "sudo apt-get install bubblewrap" in run_profile.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to reach the apt-get check")
def test_as_root_without_apt_get_it_says_so(tmp_path: Path) -> None:
    done = run(hidden_tools_argv(tmp_path, apt=False), "test")

    assert done.returncode == 2
    assert "missing (no apt-get on this system, so not installed):" in done.stderr
    assert "PostgreSQL's initdb and pg_ctl on PATH" in done.stderr


def test_with_everything_present_it_does_nothing() -> None:
    present = all(shutil.which(name) for name in ("redis-server", "nginx")) and glob.glob(
        "/usr/lib/postgresql/*/bin/initdb"
    )
    if not present:
        pytest.skip("this machine lacks the tools")
    done = subprocess.run(
        [str(SCRIPT), "services"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_an_unknown_profile_is_a_usage_error() -> None:
    done = subprocess.run([str(SCRIPT), "deploy"], capture_output=True, text=True, check=False)
    assert done.returncode == 64 and "usage:" in done.stderr
