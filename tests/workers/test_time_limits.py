"""Task time limits in pools where Celery does not enforce them (solo execution workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from workers.executions import time_limits

ROOT = Path(__file__).resolve().parents[2]


def assert_timer_given_back(before: float) -> None:
    """The interval timer holds what it held before (pytest-timeout's own, if armed)."""
    left, interval = signal.getitimer(signal.ITIMER_REAL)
    assert interval == 0.0
    if before == 0.0:
        assert left == 0.0
    else:
        assert before - 5 < left <= before


def test_soft_limit_raises_in_the_task_and_is_disarmed_after() -> None:
    previous = signal.getsignal(signal.SIGALRM)
    before = signal.getitimer(signal.ITIMER_REAL)[0]
    started = time.monotonic()
    with pytest.raises(SoftTimeLimitExceeded), time_limits(0.2, 30) as soft, soft:
        time.sleep(3)
    assert time.monotonic() - started < 2
    assert_timer_given_back(before)
    assert signal.getsignal(signal.SIGALRM) is previous


def test_a_task_finishing_in_time_leaves_no_timer_behind() -> None:
    before = signal.getitimer(signal.ITIMER_REAL)[0]
    with time_limits(5, 30) as soft, soft:
        time.sleep(0.05)
    assert_timer_given_back(before)
    time.sleep(0.1)  # nothing fires later


def test_a_timer_armed_before_the_task_still_fires_at_its_time() -> None:
    fired: list[float] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(time.monotonic()))
    saved = signal.setitimer(signal.ITIMER_REAL, 0.3)
    started = time.monotonic()
    try:
        with time_limits(5, 30) as soft, soft:
            time.sleep(0.5)  # the earlier timer fires inside the task, as armed
        assert len(fired) == 1
        assert 0.25 < fired[0] - started < 0.45
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)
        signal.setitimer(signal.ITIMER_REAL, *saved)


SWALLOWING_TASK = """
import time
from celery.exceptions import SoftTimeLimitExceeded
from workers.executions import time_limits
with time_limits(0.2, 1.2) as soft, soft:
    while True:
        try:
            time.sleep(5)
        except SoftTimeLimitExceeded:
            print("soft limit swallowed", flush=True)
"""


def test_a_task_that_swallows_the_soft_limit_ends_the_process_at_the_hard_limit() -> None:
    env = {**os.environ, "FLUXOLAB_ENV": "test", "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SWALLOWING_TASK],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 70, done.stderr[-2000:]
    assert done.stdout.splitlines()[0] == "soft limit swallowed"  # and again until the end
    assert "hard time limit of 1.2 s" in done.stderr
    assert 1.0 < time.monotonic() - started < 15
