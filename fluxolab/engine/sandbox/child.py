"""Sandbox child program: isolate this process, run the user's code once, send one JSON reply.

Run by the parent as ``python -I -S child.py CONFIG_JSON``, normally inside bubblewrap
(``"contained"`` in the config; see bwrap.py), else in a fresh session and host directory. It
must stay self-contained (standard library only): in isolated mode the package is not importable.
The parent also imports this module for the protocol constants below; importing it has no side
effects.

Channels: stdin carries one line with the pid of the process the worker started (it names the
run's uid: inside a PID namespace the child's own pid is not unique on the host), then
``{"code": str, "items": list}``; fd 1 (duplicated to a private fd before user code runs)
carries exactly one JSON reply; fd 2 receives everything the code prints, because fd 1 is
pointed at fd 2 so that stray writes cannot corrupt the reply.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import ctypes
import importlib
import io
import json
import os
import resource
import signal
import sys
from collections.abc import Callable
from typing import Any

USER_FILENAME = "<code>"
UID_BASE = 2_000_000_000  # per-run uid = UID_BASE + pid: above systemd/container ranges, < 2**31
TMP = "/tmp"  # noqa: S108 - the run's private tmpfs when contained
RESERVE_BYTES = 1 << 20  # freed on MemoryError so that the reply can still be built
MAX_MESSAGE_CHARS = 2000
ITEM_KEYS = frozenset({"json", "binary", "pairedItem"})
RETURN_CONTRACT = "Code must return a list of items or a dict"

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
MS_NOSUID, MS_NODEV, MS_REMOUNT = 0x2, 0x4, 0x20

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_SECCOMP_ALLOW = 0x7FFF0000
_SECCOMP_ERRNO = 0x00050000
# (audit arch, unshare, clone, clone3, shmget) per machine; other machines get no filter
_SYSCALLS = {
    "x86_64": (0xC000003E, 272, 56, 435, 29),
    "aarch64": (0xC00000B7, 97, 220, 435, 194),
}

UserFunction = Callable[[list[Any], list[Any]], object]
Outcome = list[dict[str, Any]] | dict[str, Any]  # normalised items, or an error reply


class ContractError(Exception):
    """The code returned something that is not a list of items or a dict."""


class TooManyItems(Exception):
    """The code returned more items than one step may hold."""


def _libc_call(name: str, *args: int) -> bool:
    """Call a libc function taking integer arguments; True when it returned 0."""
    libc = ctypes.CDLL(None, use_errno=True)
    function = getattr(libc, name)
    function.argtypes = [ctypes.c_ulong] * len(args)
    function.restype = ctypes.c_int
    return bool(function(*args) == 0)


def _unshare(flags: int) -> bool:
    """Move this process into new namespaces; False when the kernel or policy refuses."""
    try:
        return _libc_call("unshare", flags)
    except (OSError, AttributeError):
        return False


def _apply_rlimits(config: dict[str, Any]) -> None:
    """Lower the soft and hard resource limits; an unprivileged process can never raise them."""
    cpu = int(config["cpu_seconds"])
    memory = int(config["memory_bytes"])
    limits = {
        resource.RLIMIT_CPU: (cpu, cpu + 1),  # SIGXCPU at the soft limit, SIGKILL one second later
        resource.RLIMIT_AS: (memory, memory),
        resource.RLIMIT_DATA: (memory, memory),
        resource.RLIMIT_NPROC: (1 + int(config["max_processes"]),) * 2,
        resource.RLIMIT_FSIZE: (int(config["max_file_bytes"]),) * 2,
        resource.RLIMIT_NOFILE: (int(config["max_open_files"]),) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    for which, (soft, hard) in limits.items():
        resource.setrlimit(which, (soft, hard))


def _repoint(path: str, pinned: dict[str, str]) -> str:
    """Rewrite a path under an original import directory to go through its pinned fd."""
    for original, replacement in pinned.items():
        if path == original or path.startswith(original + os.sep):
            return replacement + path[len(original) :]
    return path


def _pin_import_path() -> None:
    """Reach the standard library through open directory fds so it stays importable as any uid.

    The interpreter may live under a directory the sandbox uid cannot traverse (e.g. pyenv in
    /root); /proc/self/fd/N resolves straight to the directory opened while still privileged.
    Packages already imported (encodings, json, ...) get their ``__path__`` repointed too.
    """
    pinned = {}
    for entry in sys.path:
        if os.path.isdir(entry):
            fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            pinned[entry] = f"/proc/self/fd/{fd}"
    sys.path[:] = list(pinned.values())
    for module in list(sys.modules.values()):
        package_path = getattr(module, "__path__", None)
        if isinstance(package_path, list):
            package_path[:] = [_repoint(entry, pinned) for entry in package_path]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()


def _drop_privileges(uid: int, own_workdir: bool) -> None:
    """Become the run's unprivileged uid/gid so RLIMIT_NPROC applies; raises if it did not stick."""
    if own_workdir:
        os.chown(".", uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid):
        raise OSError("privilege drop did not take effect")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise OSError("privileges could be regained after the drop")


def _only_loopback() -> bool:
    """Tell whether this network namespace has no interface but loopback."""
    with open("/proc/self/net/dev") as interfaces:
        names = [line.split(":")[0].strip() for line in interfaces.readlines()[2:]]
    return names == ["lo"]


def _limit_tmp_files(count: int) -> None:
    """Cap the inodes of the private /tmp (bwrap's --size caps only bytes; inodes cost RAM)."""
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"nr_inodes={count + 1}".encode()  # + the directory itself
    if libc.mount(None, TMP.encode(), None, MS_REMOUNT | MS_NOSUID | MS_NODEV, options) != 0:
        raise OSError(ctypes.get_errno(), f"could not limit the files of {TMP}")


class _SockFilter(ctypes.Structure):
    """struct sock_filter: one classic BPF instruction."""

    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint),
    ]


class _SockFprog(ctypes.Structure):
    """struct sock_fprog: the program handed to prctl(PR_SET_SECCOMP)."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _seccomp_program(
    arch: int, unshare: int, clone: int, clone3: int, shmget: int
) -> list[tuple[int, int, int, int]]:
    """BPF: refuse new user namespaces (unshare/clone with CLONE_NEWUSER; clone3 looks absent,
    so libc falls back to clone) and System V shared memory, which no rlimit bounds."""
    ld_abs, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06

    def errno(number: int) -> int:
        return _SECCOMP_ERRNO | number

    return [
        (ld_abs, 0, 0, 4),  # arch
        (jeq, 1, 0, arch),
        (ret, 0, 0, errno(1)),  # another ABI (e.g. x32/ia32 entry): refuse the call
        (ld_abs, 0, 0, 0),  # syscall number
        (jeq, 0, 1, clone3),
        (ret, 0, 0, errno(38)),  # ENOSYS
        (jeq, 0, 1, shmget),
        (ret, 0, 0, errno(1)),  # EPERM
        (jeq, 1, 0, unshare),
        (jeq, 0, 3, clone),
        (ld_abs, 0, 0, 16),  # args[0], low 32 bits: the flags of unshare and clone
        (jset, 0, 1, CLONE_NEWUSER),
        (ret, 0, 0, errno(1)),
        (ret, 0, 0, _SECCOMP_ALLOW),
    ]


def _deny_new_namespaces() -> bool:
    """Install the seccomp filter on this process (inherited by its children); False when the
    machine is not one the filter knows or the kernel refused it."""
    numbers = _SYSCALLS.get(os.uname().machine)
    if numbers is None:
        return False
    program = _seccomp_program(*numbers)
    filters = (_SockFilter * len(program))(*(_SockFilter(*row) for row in program))
    fprog = _SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    return bool(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0)


def _finish_containment(config: dict[str, Any], uid: int) -> bool:
    """Complete what bubblewrap started; returns whether the network is cut off."""
    is_root = os.geteuid() == 0  # else bwrap put us in user and network namespaces of our own
    if is_root:
        _limit_tmp_files(int(config["tmp_files"]))
        if not _unshare(CLONE_NEWNET):
            raise OSError("could not enter a new network namespace")
    network_isolated = _only_loopback()
    _apply_rlimits(config)
    if is_root:
        _drop_privileges(uid, own_workdir=False)
    if config.get("require_isolation", True) and not network_isolated:
        raise OSError("the sandbox's network namespace has interfaces besides loopback")
    if not _deny_new_namespaces() and config.get("require_isolation", True):
        raise OSError("the kernel refused the seccomp filter that forbids new user namespaces")
    return network_isolated


def isolate(config: dict[str, Any], uid: int) -> bool:
    """Apply every isolation step before user code runs; returns whether the network is cut off."""
    if not _libc_call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0):
        raise OSError("prctl(PR_SET_NO_NEW_PRIVS) failed")
    if config.get("contained"):
        network_isolated = _finish_containment(config, uid)
        _libc_call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        return network_isolated
    is_root = os.geteuid() == 0
    network_isolated = is_root and _unshare(CLONE_NEWNET)
    _apply_rlimits(config)
    if is_root:
        _pin_import_path()
        _drop_privileges(uid, own_workdir=True)
    if not network_isolated:  # best effort: the operator accepted weaker isolation
        network_isolated = _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    _deny_new_namespaces()
    # Set after the uid change (which clears it): die if the worker dies.
    _libc_call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(config["parent_pid"]):
        raise OSError("the parent process is gone")
    return network_isolated


def compile_user_function(code: str) -> UserFunction:
    """Compile the code as the body of ``def user_code(items, data)``, keeping the user's lines."""
    module = ast.parse(code, filename=USER_FILENAME)
    parameters = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg="items"), ast.arg(arg="data")],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[],
    )
    function = ast.FunctionDef(
        name="user_code",
        args=parameters,
        body=module.body or [ast.Pass()],
        decorator_list=[],
        returns=None,
        type_comment=None,
    )
    wrapper = ast.Module(body=[function], type_ignores=[])
    ast.fix_missing_locations(wrapper)
    namespace: dict[str, Any] = {"__builtins__": builtins, "__name__": "__fluxolab_code__"}
    exec(compile(wrapper, USER_FILENAME, "exec"), namespace)  # noqa: S102 - only defines it
    user_function: UserFunction = namespace["user_code"]
    return user_function


def _safe_str(value: object) -> str:
    """Return str(value) bounded in length, even when the object's __str__ misbehaves."""
    try:
        text = str(value)
    except Exception:
        text = "<unprintable>"
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "..."


def _user_line(exc: BaseException) -> int | None:
    """Return the deepest line of the user's code in the exception's traceback."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == USER_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def describe_exception(exc: BaseException) -> str:
    """Format an exception as ``Type: message (line N)`` using the user's line numbers."""
    text = type(exc).__name__
    detail = _safe_str(exc.msg if isinstance(exc, SyntaxError) else exc)
    if detail:
        text += f": {detail}"
    line = exc.lineno if isinstance(exc, SyntaxError) else _user_line(exc)
    return f"{text} (line {line})" if line else text


def _normalise_item(position: int, value: object) -> dict[str, Any]:
    """Wrap a plain dict as ``{"json": dict}``; keep an item that already has a dict "json"."""
    if not isinstance(value, dict):
        kind = type(value).__name__
        raise ContractError(f"{RETURN_CONTRACT} (item {position} is a {kind})")
    if "json" in value and set(value) <= ITEM_KEYS:
        if not isinstance(value["json"], dict):
            raise ContractError(f'{RETURN_CONTRACT} (item {position} has a non-dict "json")')
        return dict(value)
    return {"json": value}


def normalise_items(value: object, max_items: int) -> list[dict[str, Any]]:
    """Turn the code's return value into a list of items; raises ContractError otherwise.

    Raises TooManyItems, before any item is copied, when the list is longer than ``max_items``.
    """
    if isinstance(value, dict):
        return [_normalise_item(0, value)]
    if isinstance(value, list):
        if len(value) > max_items:
            raise TooManyItems(
                f"Code returned {len(value)} items; the limit is {max_items} per step"
            )
        return [_normalise_item(position, item) for position, item in enumerate(value)]
    raise ContractError(f"{RETURN_CONTRACT} (got {type(value).__name__})")


def error_reply(kind: str, message: str = "") -> dict[str, Any]:
    """Build the reply for a failed run."""
    return {"status": "error", "kind": kind, "message": message}


def encode_reply(outcome: Outcome, network_isolated: bool, max_bytes: int) -> bytes:
    """Serialise the reply; a result that is not JSON or exceeds max_bytes becomes an error."""
    if isinstance(outcome, dict):
        return json.dumps({**outcome, "network_isolated": network_isolated}).encode()
    reply = {"status": "ok", "network_isolated": network_isolated, "items": outcome}
    try:
        encoded = json.dumps(reply, allow_nan=False).encode()
    except MemoryError:
        return encode_reply(error_reply("memory"), network_isolated, max_bytes)
    except (TypeError, ValueError, RecursionError) as exc:
        message = f"Code returned a value that is not JSON: {_safe_str(exc)}"
        return encode_reply(error_reply("runtime", message), network_isolated, max_bytes)
    if len(encoded) > max_bytes:
        return encode_reply(error_reply("output"), network_isolated, max_bytes)
    return encoded


def execute(code: str, items: list[Any], max_items: int) -> Outcome:
    """Run the user's code on the items; returns the normalised items or an error reply."""
    try:
        user_function = compile_user_function(code)
    except SyntaxError as exc:
        return error_reply("syntax", describe_exception(exc))
    except (ValueError, RecursionError) as exc:
        return error_reply("syntax", f"SyntaxError: {_safe_str(exc)}")
    reserve = bytearray(RESERVE_BYTES)
    exhausted = False
    try:
        normalised = normalise_items(user_function(items, items), max_items)
    except MemoryError:  # not bound to a name: leaving the block frees the code's frames
        exhausted = True
    except ContractError as exc:
        return error_reply("runtime", str(exc))
    except TooManyItems as exc:
        return error_reply("items", str(exc))
    except BaseException as exc:  # user code may raise anything, SystemExit included
        return error_reply("runtime", _process_limit_note(exc) + describe_exception(exc))
    del reserve
    return error_reply("memory") if exhausted else normalised


def _process_limit_note(exc: BaseException) -> str:
    """Name the process limit when starting a process or thread was refused by it."""
    refused = isinstance(exc, BlockingIOError) or "can't start new thread" in str(exc)
    return "Code exceeded its process limit: " if refused else ""


def _split_channels() -> int:
    """Keep a private duplicate of fd 1 for the reply and send fd 1 (prints) to fd 2 (logs)."""
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # prints survive a kill at the limits
    return reply_fd


def _read_input() -> dict[str, Any]:
    """Read the whole JSON input from stdin, then replace stdin with /dev/null."""
    payload: dict[str, Any] = json.loads(sys.stdin.buffer.read())
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.close(null_fd)
    return payload


def _send(reply_fd: int, reply: bytes) -> None:
    """Flush captured prints, then write the reply to the private channel and close it."""
    with contextlib.suppress(OSError, ValueError, MemoryError):
        sys.stdout.flush()
    view = memoryview(reply)
    while view:
        view = view[os.write(reply_fd, view) :]
    os.close(reply_fd)


def main(argv: list[str]) -> int:
    """Isolate, read the input, run the code and reply; returns the process exit status."""
    config = json.loads(argv[1])
    max_bytes = int(config["max_output_bytes"])
    reply_fd = _split_channels()
    try:
        network_isolated = isolate(config, UID_BASE + int(sys.stdin.buffer.readline()))
    except Exception as exc:
        failure = error_reply("internal", f"Sandbox setup failed: {exc}")
        _send(reply_fd, encode_reply(failure, False, max_bytes))
        return 1
    try:
        payload = _read_input()
        outcome = execute(payload["code"], payload["items"], int(config["max_items"]))
    except MemoryError:
        outcome = error_reply("memory")
    _send(reply_fd, encode_reply(outcome, network_isolated, max_bytes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
