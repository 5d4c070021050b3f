"""Run the Code node's user Python in a separate, resource-limited, unprivileged process.

``run_python(code, items, limits)`` is the whole interface. Each call starts a fresh interpreter
(``python -I -S``) in a new session and an empty temporary directory with an empty environment.
Before user code runs the child caps CPU time, address space, processes, file size and open
files; when started as root it also enters a new network namespace and switches to a per-run
unprivileged uid (root is exempt from RLIMIT_NPROC). Without root it tries an unprivileged user
+ network namespace; when neither works the run is refused (``require_isolation``, on by
default) or, when an operator turned that off, runs with network access, which
``SandboxResult.network_isolated`` and ``network_isolation_available()`` report. The parent
enforces wall time and output size and kills the whole process group when the run ends.
"""

from .errors import ErrorKind, SandboxError
from .limits import SandboxLimits
from .outcome import SandboxResult
from .runner import network_isolation_available, protect_this_process, run_python

__all__ = [
    "ErrorKind",
    "SandboxError",
    "SandboxLimits",
    "SandboxResult",
    "network_isolation_available",
    "protect_this_process",
    "run_python",
]
