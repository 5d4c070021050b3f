"""Resource limits of one sandboxed run, and their human-readable spelling."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MIB = 1024 * 1024
MIN_MEMORY_BYTES = 32 * MIB  # below this the interpreter itself cannot start
MIN_OPEN_FILES = 16  # stdio, the reply channel, the pinned import path and imports in flight
MIN_TMP_BYTES = 64 * 1024  # a tmpfs size of 0 would mean "unlimited"


@dataclass(frozen=True)
class SandboxLimits:
    """Limits applied to the child before user code runs; raises ValueError when out of range."""

    cpu_seconds: int = 5  # RLIMIT_CPU: SIGXCPU at the limit, SIGKILL one second later
    wall_seconds: float = 10.0  # the parent kills the whole process group after this
    memory_bytes: int = 256 * MIB  # RLIMIT_AS and RLIMIT_DATA
    max_processes: int = 0  # extra processes/threads the code may start (0: fork fails)
    max_output_bytes: int = 8 * MIB  # size cap of the JSON result
    max_log_bytes: int = 64 * 1024  # captured print() output kept
    max_file_bytes: int = 8 * MIB  # RLIMIT_FSIZE: largest file the code may write
    max_open_files: int = 32  # RLIMIT_NOFILE
    tmp_bytes: int = 16 * MIB  # size of the run's private /tmp, the only writable place
    tmp_files: int = 1024  # files and directories that fit in it (inodes cost kernel memory)
    max_items: int = 10_000  # items the code may return (the engine's per-step item limit)
    require_isolation: bool = True  # refuse to run outside bubblewrap's namespaces

    def __post_init__(self) -> None:
        """Reject limits that would make the sandbox useless or unenforceable."""
        positive = ("cpu_seconds", "wall_seconds", "max_output_bytes", "max_log_bytes", "max_items")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"SandboxLimits.{name} must be positive")
        if self.memory_bytes < MIN_MEMORY_BYTES:
            raise ValueError(f"SandboxLimits.memory_bytes must be at least {MIN_MEMORY_BYTES}")
        if self.max_processes < 0 or self.max_file_bytes < 0:
            raise ValueError("SandboxLimits.max_processes and max_file_bytes must be >= 0")
        if self.max_open_files < MIN_OPEN_FILES:
            raise ValueError(f"SandboxLimits.max_open_files must be at least {MIN_OPEN_FILES}")
        if self.tmp_bytes < MIN_TMP_BYTES or self.tmp_files < 1:
            raise ValueError(
                f"SandboxLimits.tmp_bytes must be at least {MIN_TMP_BYTES} and tmp_files positive"
            )

    def child_config(self, parent_pid: int) -> dict[str, Any]:
        """Return the settings the child program needs, as a JSON-ready dict."""
        config = asdict(self)
        del config["wall_seconds"], config["max_log_bytes"], config["tmp_bytes"]  # parent's
        config["parent_pid"] = parent_pid
        return config


def format_seconds(seconds: float) -> str:
    """Spell a duration as in "5 s" or "2.5 s"."""
    return f"{seconds:g} s"


def format_bytes(size: int) -> str:
    """Spell a size in MiB or KiB when it divides evenly ("256 MiB"), else in bytes."""
    for unit, factor in (("MiB", MIB), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    if size >= MIB:
        return f"{size / MIB:.1f} MiB"
    return f"{size} bytes"
