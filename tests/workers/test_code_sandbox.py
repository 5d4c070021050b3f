"""The Code node sandbox through a real worker: no file outlives a run, across workspaces too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_execution_limits import add_workflow, code_then_no_op
from tests.workers.test_execution_worker import create_workflow, run

PLACES = ("/tmp/left-by-a.txt", "left-by-a.txt", "/dev/shm/left-by-a.txt", "/var/tmp/left-by-a.txt")
LEAVE = f"""
for path in {PLACES!r}:
    try:
        with open(path, "w") as handle:
            handle.write("workspace A was here")
    except OSError:
        pass
return {{"left": True}}
"""
LOOK = f"""
import os
found = [path for path in {PLACES!r} if os.path.exists(path)]
if found:
    raise RuntimeError(f"found {{found}}")
return {{"found": found}}
"""


@pytest.mark.worker
def test_a_file_left_by_a_run_is_gone_for_the_next_run_of_any_workspace(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    account_a, leave = create_workflow(app, code_then_no_op(LEAVE))
    account_b, look_b = create_workflow(app, code_then_no_op(LOOK))
    look_a = add_workflow(app, account_a, code_then_no_op(LOOK))
    assert account_a.workspace_id != account_b.workspace_id

    left = wait_for_status(app, run(app, account_a, leave))
    assert left.status == "succeeded", left.error
    for account, look in ((account_b, look_b), (account_a, look_a)):
        looked = wait_for_status(app, run(app, account, look))
        assert looked.status == "succeeded", looked.error
