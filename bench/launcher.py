"""A tiny process that starts the measured children, so that their peak RSS is their own.

Linux carries the parent's resident size into a child's `ru_maxrss` (it is recorded at `exec` from the
memory the child shared with its parent until then), so a child started by a big runner would report
at least the runner's size. This launcher runs as `python -S` with nothing but `os` and `json`
imported (about 9 MiB), well below any Python child's own peak.

Protocol, one JSON object per line: in `{"argv", "env", "cwd", "stdout", "stderr"}`, out
`{"wall", "user", "sys", "maxrss_kib", "exit_code", "runqueue"}` (from `os.wait4` on that child alone;
`runqueue` is the time its threads were ready to run but another process had the CPU, from
/proc/PID/task/*/schedstat, summed over its threads, so a process with several runnable threads,
like urlwatch's 10 workers, can wait longer than its wall time; for a single-threaded child,
wall − CPU − runqueue is the time it waited itself, for the network or the disk).
"""

import json
import os
import sys
import time


def run(request: dict) -> dict:
    os.chdir(request["cwd"])
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, request["stdout"], flags, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, request["stderr"], flags, 0o644),
    ]
    argv = request["argv"]
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, request["env"], file_actions=actions)
    waited: dict[str, int] = {}  # thread id -> ns it spent runnable but waiting for a CPU
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        _runqueue(pid, waited)
        time.sleep(0.02)
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "maxrss_kib": usage.ru_maxrss,
        "exit_code": os.waitstatus_to_exitcode(status),
        "runqueue": sum(waited.values()) / 1e9,
    }


def _runqueue(pid: int, waited: dict[str, int]) -> None:
    """Update `waited` from /proc/PID/task/*/schedstat (field 2: time runnable but not running, in ns).

    Polled every 20 ms while the child runs, so the last 20 ms may be missed: enough to tell a busy
    machine (other processes holding the CPUs) from a process that was idle, waiting for I/O."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as fh:
                waited[tid] = int(fh.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
