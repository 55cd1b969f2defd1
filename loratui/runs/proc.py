"""Process identity that survives pid reuse and reboots: (host, boot id, pid, start ticks).

A pid file alone lies after a crash (the pid is reused) or a reboot (every pid is gone, the file
stays). We record when the process started (``/proc/PID/stat`` field 22, in clock ticks since boot)
and the kernel's boot id; a process is "ours" only if all of them still match.
"""

from __future__ import annotations

import os
import socket
import time


def host() -> str:
    return socket.gethostname()


def boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        try:
            import psutil  # not Linux: the boot time identifies the boot

            return f"boot-{int(psutil.boot_time())}"
        except Exception:  # noqa: BLE001
            return ""


def start_ticks(pid: int) -> str | None:
    """When ``pid`` started (opaque string), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
        # the command name (field 2) may hold spaces and parentheses: split after the last ")"
        rest = data[data.rindex(")") + 2:].split()
        if rest[0] == "Z":  # a zombie has finished
            return None
        return rest[19]
    except (OSError, ValueError, IndexError):
        pass
    if os.path.isdir("/proc/self"):
        return None
    try:
        import psutil

        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{p.create_time():.2f}"
    except Exception:  # noqa: BLE001 - no psutil: a bare liveness check is the best we can do
        try:
            os.kill(pid, 0)
            return "?"
        except ProcessLookupError:
            return None
        except PermissionError:
            return "?"


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def identity(pid: int) -> dict:
    return {"pid": pid, "ticks": start_ticks(pid), "host": host(), "boot_id": boot_id()}


def alive(ident: dict | None) -> bool | None:
    """True: that very process runs here. False: it is gone. None: it ran on another host."""
    if not ident or not ident.get("pid"):
        return False
    if ident.get("host") and ident["host"] != host():
        return None
    if ident.get("boot_id") and ident["boot_id"] != boot_id():
        return False  # the machine rebooted since
    now = start_ticks(int(ident["pid"]))
    if now is None:
        return False
    want = ident.get("ticks")
    return want in (None, "?") or now == "?" or now == want


def wait_gone(idents: list[dict], timeout: float, poll: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while True:
        if not any(alive(i) for i in idents):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(poll)


def cpu_seconds(pid: int) -> tuple[float, str, int] | None:
    """(user + system CPU seconds, scheduler state letter, thread count) of ``pid``; None if gone.

    State ``D`` (uninterruptible sleep) usually means a process stuck in disk or network I/O."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("ascii", "replace")
        rest = text[text.rindex(")") + 2:].split()
        tick = os.sysconf("SC_CLK_TCK") or 100
        return (int(rest[11]) + int(rest[12])) / tick, rest[0], int(rest[17])
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        p = psutil.Process(pid)
        t = p.cpu_times()
        return t.user + t.system, p.status()[:1].upper(), p.num_threads()
    except Exception:  # noqa: BLE001 - no psutil or no such process
        return None


def open_paths(pid: int) -> list[str]:
    """Files ``pid`` has open right now (Linux ``/proc/PID/fd``; empty elsewhere or when denied)."""
    out = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/"):
            out.append(target)
    return out
