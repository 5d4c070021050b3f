"""The worker process is made non-dumpable so sandboxed code cannot read its environment."""

from __future__ import annotations

import ctypes
import os

PR_GET_DUMPABLE = 3


def test_protect_this_process_clears_the_dumpable_flag() -> None:
    pid = os.fork()
    if pid == 0:  # the child checks itself, so the test process keeps its own flag
        from fluxolab.engine.sandbox import protect_this_process

        libc = ctypes.CDLL(None, use_errno=True)
        before = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        protect_this_process()
        after = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        os._exit(0 if (before, after) == (1, 0) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
