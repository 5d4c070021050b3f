"""What sandboxed code sees of the machine: a private, capped /tmp and nothing else of the host.

One test per escape class: filling RAM-backed storage, leaving files for a later run, reading
host files, seeing other processes, writing outside the private area.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxolab.engine.sandbox import SandboxError, SandboxLimits, SandboxResult, run_python

ROOT = Path(__file__).resolve().parents[2]
LIMITS = SandboxLimits(cpu_seconds=5, wall_seconds=20)
MIB = 1024 * 1024


def run(code: str, limits: SandboxLimits = LIMITS) -> SandboxResult:
    """Run code with no items under the test limits."""
    return run_python(code, [], limits)


def fail(code: str, limits: SandboxLimits = LIMITS) -> SandboxError:
    """Run code that must fail and return the error."""
    with pytest.raises(SandboxError) as caught:
        run(code, limits)
    return caught.value


def attempts(code_per_path: str, paths: list[str]) -> dict[str, str]:
    """Run ``code_per_path`` (using ``path``) for each path; map each path to "ok" or the error."""
    code = (
        "outcome = {}\n"
        f"for path in {paths!r}:\n"
        "    try:\n"
        + "".join(f"        {line}\n" for line in code_per_path.splitlines())
        + "        outcome[path] = 'ok'\n"
        "    except OSError as exc:\n"
        "        outcome[path] = type(exc).__name__\n"
        "return outcome"
    )
    outcome: dict[str, str] = run(code).items[0]["json"]
    return outcome


@pytest.fixture
def canaries() -> Iterator[list[str]]:
    """World-readable files in a host temp dir, under the project's var/ and under /home."""
    marker = f"fluxolab-canary-{uuid.uuid4().hex}"
    folders = [Path(tempfile.gettempdir()), ROOT / "var", Path("/home")]
    created = []
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        directory = folder / marker
        directory.mkdir(mode=0o755)
        directory.chmod(0o755)  # traversable by anyone, whatever the umask
        canary = directory / "secret.txt"
        canary.write_text("host secret\n")
        canary.chmod(0o644)
        created.append(directory)
    yield [str(directory / "secret.txt") for directory in created]
    for directory in created:
        shutil.rmtree(directory, ignore_errors=True)


# --- RAM-backed storage is capped ----------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            "for i in range(64):\n    open(f'/tmp/f{i}', 'wb').write(b'x' * 1024 * 1024)",
            id="tmp-many-1-mib-files",
        ),
        pytest.param(
            "for i in range(64):\n    open(f'/dev/shm/f{i}', 'wb').write(b'x' * 1024 * 1024)",
            id="dev-shm-many-1-mib-files",
        ),
        pytest.param(
            "import os\nos.mkdir('d')\nfor i in range(100_000):\n    open(f'd/{i}', 'w').close()",
            id="cwd-many-empty-files",
        ),
    ],
)
def test_filling_storage_past_the_areas_cap_fails_the_run_cleanly(code: str) -> None:
    error = fail(code + "\nreturn {'filled': True}")

    assert error.kind == "runtime"
    assert error.message.startswith(("OSError: [Errno 28] No space left on device", "FileNotFound"))
    assert run("import os\nreturn {'files': os.listdir('/tmp')}").items == [{"json": {"files": []}}]


def test_the_area_holds_its_size_in_small_files() -> None:
    limits = SandboxLimits(cpu_seconds=5, wall_seconds=20, tmp_bytes=4 * MIB, tmp_files=100_000)
    code = (
        "written = 0\n"
        "try:\n"
        "    for i in range(10_000):\n"
        "        with open(f'/tmp/{i}', 'wb') as handle:\n"
        "            handle.write(b'x' * 4096)\n"
        "        written += 4096\n"
        "except OSError as exc:\n"
        "    return {'written': written, 'error': exc.errno}"
    )
    result = run(code, limits).items[0]["json"]

    assert result["error"] == 28  # ENOSPC
    assert 3 * MIB < result["written"] <= 4 * MIB


# --- nothing survives a run ------------------------------------------------------------------


def test_files_left_by_a_run_are_gone_in_the_next_run() -> None:
    marker = f"left-{uuid.uuid4().hex}"
    places = [f"/tmp/{marker}", f"/dev/shm/{marker}", f"/var/tmp/{marker}", marker]
    leave = "with open(path, 'w') as handle:\n    handle.write('from the first run')"
    assert attempts(leave, places)[f"/tmp/{marker}"] == "ok"

    seen = attempts("open(path).read()", places)

    assert seen == dict.fromkeys(places, "FileNotFoundError")
    assert not Path(tempfile.gettempdir(), marker).exists()  # nor on the host


# --- host files are out of reach -------------------------------------------------------------


def test_host_files_outside_the_allowed_set_cannot_be_read(canaries: list[str]) -> None:
    targets = [*canaries, "/etc/passwd", "/etc/hostname", "/root/.bashrc", str(ROOT / "setup.cfg")]
    outcome = attempts("open(path).read()", targets)

    assert outcome == dict.fromkeys(targets, "FileNotFoundError")


def test_the_root_holds_only_what_python_needs() -> None:
    code = (
        "import os, sys\n"
        "listings = {}\n"
        "path = '/'\n"
        "for part in sys.base_prefix.strip('/').split('/'):\n"
        "    listings[path] = sorted(os.listdir(path))\n"
        "    path = os.path.join(path, part)\n"
        "return {'listings': listings, 'prefix': sys.base_prefix, 'etc': os.listdir('/etc')}"
    )
    seen = run(code).items[0]["json"]
    listings, prefix = seen["listings"], seen["prefix"]
    top = prefix.strip("/").split("/")[0]
    system = {"usr", "lib", "lib32", "lib64", "libx32", "etc", "dev", "proc", "tmp", "sandbox"}

    assert set(listings["/"]) <= system | {top}
    assert seen["etc"] in ([], ["ld.so.cache"])
    if top != "usr":  # every folder above the interpreter shows only the way down to it
        parents = prefix.strip("/").split("/")
        for depth, parent in enumerate(list(listings)[1:], start=1):
            assert listings[parent] == [parents[depth]], parent


# --- other processes are invisible -----------------------------------------------------------


def test_other_processes_are_not_visible() -> None:
    marker = f"{uuid.uuid4().int % 10_000}.{os.getpid()}"
    canary = subprocess.Popen(["sleep", marker])
    try:
        code = (
            "import os\n"
            "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
            "cmdlines = [open(f'/proc/{p}/cmdline', 'rb').read().decode() for p in pids]\n"
            "return {'pids': pids, 'own': os.getpid(), 'cmdlines': cmdlines}"
        )
        seen = run(code).items[0]["json"]
    finally:
        canary.kill()
        canary.wait()

    assert len(seen["pids"]) <= 2  # the namespace's init (bwrap) and the code itself
    assert str(seen["own"]) in seen["pids"]
    assert not [line for line in seen["cmdlines"] if marker in line or "pytest" in line]


# --- nothing outside the area is writable ----------------------------------------------------


def test_nothing_outside_tmp_is_writable() -> None:
    code = "import os, sys\nreturn {'python': os.path.dirname(os.__file__), 'exe': sys.executable}"
    where = run(code).items[0]["json"]
    targets = [
        "/var/tmp/x",
        "/dev/shm/x",
        "../x",
        "/x",
        "/usr/x",
        "/proc/x",
        "/etc/x",
        f"{where['python']}/x.py",
        f"{os.path.dirname(where['exe'])}/x",
        str(ROOT / "var" / "x"),
    ]

    outcome = attempts("open(path, 'w').close()", targets)

    assert "ok" not in outcome.values(), outcome
    assert attempts("open(path, 'w').close()", ["/tmp/x", "x"]) == {"/tmp/x": "ok", "x": "ok"}


def test_the_working_directory_is_the_private_area() -> None:
    code = (
        "import os\n"
        "return {'cwd': os.getcwd(), 'home': os.environ['HOME'], 'tmp': os.environ['TMPDIR']}"
    )

    assert run(code).items == [{"json": {"cwd": "/tmp", "home": "/tmp", "tmp": "/tmp"}}]


# --- no way around the caps through new namespaces or System V shared memory -----------------

NESTED_TMPFS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(4, 1, 0, 0, 0)  # dumpable again, to write its own uid_map
uid, gid = os.getuid(), os.getgid()
if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
    return {"unshare": os.strerror(ctypes.get_errno())}
open("/proc/self/setgroups", "w").write("deny")
open("/proc/self/uid_map", "w").write(f"0 {uid} 1")
open("/proc/self/gid_map", "w").write(f"0 {gid} 1")
os.mkdir("/tmp/m")
libc.mount(b"none", b"/tmp/m", b"tmpfs", 0, b"size=3g")
for i in range(64):
    open(f"/tmp/m/f{i}", "wb").write(b"x" * 1024 * 1024)
return {"unshare": "allowed", "written_mib": 64}
"""

SYSV_SHM = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
shmid = libc.shmget(0, 128 * 1024 * 1024, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
return {"shmget": shmid, "error": os.strerror(ctypes.get_errno()) if shmid < 0 else ""}
"""


def test_code_cannot_create_a_user_namespace_to_mount_an_uncapped_tmpfs() -> None:
    assert run(NESTED_TMPFS).items[0]["json"] == {"unshare": "Operation not permitted"}


def test_code_cannot_allocate_system_v_shared_memory_outside_its_memory_limit() -> None:
    outcome = run(SYSV_SHM).items[0]["json"]
    assert outcome == {"shmget": -1, "error": "Operation not permitted"}


def test_threads_and_processes_still_start_under_the_filter() -> None:
    code = (
        "import threading, os\n"
        "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n    os._exit(0)\n"
        "return {'child': os.waitpid(pid, 0)[1]}"
    )
    assert run(code, dataclasses.replace(LIMITS, max_processes=2)).items[0]["json"] == {"child": 0}
