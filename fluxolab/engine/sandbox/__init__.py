"""Run the Code node's user Python in a separate, resource-limited, unprivileged process.

``run_python(code, items, limits)`` is the whole interface. Each call starts a fresh interpreter
(``python -I -S``) inside bubblewrap (bwrap.py): its own PID, network, IPC, UTS and mount
namespaces, a read-only root holding only what Python needs, and a private size-capped tmpfs
at ``/tmp`` as the only writable place, gone when the run ends. Before user code runs the child
caps CPU time, address space, processes, file size and open files and switches to a per-run
unprivileged uid (when root; otherwise bwrap's user namespace stands in for it), with an empty
environment. When bwrap cannot confine runs on this host they are refused
(``require_isolation``, on by default) or, when an operator turned that off, run in a host
temporary directory with the former, weaker isolation. The parent enforces wall time and output
size and kills the whole process group when the run ends.
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
