"""The bubblewrap (``bwrap``) command line that confines one run, and whether bwrap works here.

Each run gets new PID, network, IPC, UTS and mount namespaces: its own ``/proc`` (only its own
processes), no network but loopback, and a root filesystem that holds, read-only, only ``/usr``,
``/lib*``, ``/etc/ld.so.cache``, the interpreter with its standard library, five harmless
devices and the child program. The one writable place is a fresh tmpfs of ``tmp_bytes`` at
``/tmp`` (also HOME, TMPDIR and the working directory); it disappears with the namespace when
the run ends.

As root, bwrap creates no user namespace and the child keeps only CAP_SETUID, CAP_SETGID and
CAP_SYS_ADMIN, to cap the tmpfs' inode count, enter an empty network namespace and switch to
the run's uid, after which it has none. (bwrap's own ``--unshare-net`` would need CAP_NET_ADMIN
to bring up loopback, which containers do not have by default.) Without root, bwrap uses a user
namespace and creates the network namespace itself.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig

from . import child
from .limits import SandboxLimits

BWRAP = "bwrap"
TMP = "/tmp"  # noqa: S108 - a private tmpfs inside the sandbox
CHILD_PATH = "/sandbox/child.py"
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache",)  # where the dynamic loader finds libraries outside /lib
ROOT_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_SYS_ADMIN")  # dropped before user code
NAMESPACES = ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")
TWO_PATH_OPTIONS = frozenset({"--ro-bind", "--dev-bind", "--symlink"})  # SOURCE DEST
PROBE_TIMEOUT_SECONDS = 10
OPT_OUT = "or set CODE_SANDBOX_REQUIRE_ISOLATION=false to accept weaker isolation"


def interpreter() -> str:
    """Return the real path of the base interpreter (not a virtualenv's link to it)."""
    return os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)


def _bind_system() -> list[str]:
    """Bind the system directories read-only, keeping merged-/usr links as links."""
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in SYSTEM_FILES:
        if os.path.isfile(path):
            args += ["--ro-bind", path, path]
    return args


def _python_files() -> list[str]:
    """Return the interpreter, its shared library and its standard library directories."""
    paths = [interpreter()]
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        library = os.path.join(
            str(sysconfig.get_config_var("LIBDIR")), str(sysconfig.get_config_var("INSTSONAME"))
        )
        if os.path.exists(library):
            paths.append(os.path.realpath(library))
    base = {"base": sys.base_prefix, "installed_base": sys.base_prefix}
    base |= {"platbase": sys.base_exec_prefix, "installed_platbase": sys.base_exec_prefix}
    for name in ("stdlib", "platstdlib"):  # of the base interpreter, not of a virtualenv
        paths.append(os.path.realpath(sysconfig.get_path(name, vars=base)))
    return list(dict.fromkeys(paths))


def _bind_python() -> list[str]:
    """Bind the interpreter read-only where it lives, hiding its site-packages."""
    args: list[str] = []
    bound = _python_files()
    for path in bound:
        if not path.startswith("/usr/"):  # already visible through /usr
            args += ["--ro-bind", path, path]
    for directory in bound[1:]:
        site_packages = os.path.join(directory, "site-packages")
        if os.path.isdir(site_packages):
            args += ["--tmpfs", site_packages, "--remount-ro", site_packages]
    return args


@functools.cache
def fixed_args(as_root: bool) -> tuple[str, ...]:
    """Return the options that are the same for every run of this process.

    bwrap is named by the absolute path found once on this process's PATH, so the probe and
    every run use the same executable whatever PATH the child's environment has.
    """
    args = [shutil.which(BWRAP) or BWRAP, *NAMESPACES, "--die-with-parent", "--new-session"]
    if as_root:  # no user namespace: the child enters a new network namespace and its uid itself
        args += ["--cap-drop", "ALL"]
        for capability in ROOT_CAPABILITIES:
            args += ["--cap-add", capability]
    else:  # inside its own user namespace bwrap may also bring up the loopback it adds
        args += ["--unshare-user", "--unshare-net"]
    mounts = _bind_system() + _bind_python() + ["--proc", "/proc"]
    for device in DEVICES:
        mounts += ["--dev-bind", device, device]
    mounts += ["--ro-bind", str(child.__file__), CHILD_PATH]
    return tuple(args + _parent_dirs(mounts) + mounts)


def _parent_dirs(mounts: list[str]) -> list[str]:
    """Create the mount points' parent directories traversable by the run's uid.

    bwrap would create them with mode 0700, which the unprivileged uid cannot enter.
    """
    targets = [mounts[index + 2] for index, arg in enumerate(mounts) if arg in TWO_PATH_OPTIONS]
    targets += [mounts[index + 1] for index, arg in enumerate(mounts) if arg == "--proc"]
    parents = {os.path.dirname(target) for target in targets}
    for parent in list(parents):
        while parent != "/":
            parents.add(parent)
            parent = os.path.dirname(parent)
    args: list[str] = []
    for parent in sorted(parents - {"/"}):
        if not any(parent == t or parent.startswith(t + "/") for t in targets):
            args += ["--perms", "0755", "--dir", parent]
    return args


def command(limits: SandboxLimits, python_args: list[str]) -> list[str]:
    """Return the argv that runs the interpreter with ``python_args`` confined for one run."""
    area = ["--size", str(limits.tmp_bytes), "--perms", "1777", "--tmpfs", TMP, "--chdir", TMP]
    return [
        *fixed_args(os.geteuid() == 0),
        *area,
        "--remount-ro",
        "/",
        interpreter(),
        *python_args,
    ]


def _refusal(detail: str) -> str:
    """Explain why runs cannot be confined and what the operator can do about it."""
    return (
        f"The Code node cannot isolate this run: {detail}; "
        "run the worker as root (in a container: with CAP_SYS_ADMIN and seccomp and AppArmor "
        "profiles that allow unshare, mount and pivot_root, see README 'The Code node sandbox') "
        f"or allow unprivileged user namespaces, {OPT_OUT}"
    )


@functools.cache
def unavailable_reason() -> str | None:
    """Probe once whether bwrap can confine a run here; None when it can, else why not."""
    if shutil.which(BWRAP) is None:
        return (
            "The Code node cannot isolate this run: bubblewrap is not installed; install it "
            f"(Debian/Ubuntu: apt-get install bubblewrap, Fedora: dnf install bubblewrap) {OPT_OUT}"
        )
    probe = command(SandboxLimits(), ["-I", "-S", "-c", "pass"])
    try:
        done = subprocess.run(
            probe, capture_output=True, env={}, timeout=PROBE_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _refusal(f"bwrap could not be started ({exc})")
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        return _refusal(f"bwrap failed ({message})")
    return None
