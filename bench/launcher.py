"""A tiny process that starts the measured children, so that their peak RSS is their own.

Linux carries the parent's resident size into a child's `ru_maxrss` (it is recorded at `exec` from the
memory the child shared with its parent until then), so a child started by a big runner would report
at least the runner's size. This launcher runs as `python -S` with nothing but `os` and `json`
imported (about 9 MiB), well below any Python child's own peak.

Protocol, one JSON object per line: in `{"argv", "env", "cwd", "stdout", "stderr"}`, out
`{"wall", "user", "sys", "maxrss_kib", "exit_code"}` (from `os.wait4` on that child alone).
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
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    return {"wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime, "maxrss_kib": usage.ru_maxrss,
            "exit_code": os.waitstatus_to_exitcode(status)}


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
