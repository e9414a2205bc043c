"""The benchmark's plumbing: measured child processes, the source server, environments.

Shared by `run.py` (the monitor and urlwatch cycles) and `peer.py` (urlwatch). Nothing here knows
what is being measured; it starts processes and reports what the kernel says they cost.

CPU time is `user + system` from `os.wait4` on the measured child: on Linux that includes every
descendant the child waited for, so it is the CPU of the whole process tree (threads are part of
their process anyway). Peak RSS is `ru_maxrss`, the largest resident set of any process in that
tree. Wall time is split further with the time the child was runnable but had no CPU (other
processes on a busy machine): what is left, `idle`, is the time it waited for the network or the disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


@dataclass
class Measure:
    wall: float
    user: float
    sys: float
    maxrss_mib: float
    exit_code: int
    runqueue: float = 0.0  # s its threads were ready to run while other processes had the CPUs

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    @property
    def idle(self) -> float:
        """Wall time the process spent waiting for something (the network, the disk), not for a CPU."""
        return max(0.0, self.wall - self.cpu - self.runqueue)


class Launcher:
    """Starts measured children from a small process (bench/launcher.py), so peak RSS is the child's own."""

    def __init__(self, python: str):
        self.proc = subprocess.Popen(
            [python, "-S", str(BENCH / "launcher.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, argv: list[str], *, env: dict[str, str], cwd: Path, stdout: Path, stderr: Path) -> Measure:
        """Run argv to completion; wall time, CPU time and peak RSS of that child's tree (os.wait4)."""
        request = {"argv": argv, "env": env, "cwd": str(cwd), "stdout": str(stdout), "stderr": str(stderr)}
        self.proc.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit("the launcher died")
        r = json.loads(line)
        # ru_maxrss is in KiB on Linux (bytes on macOS)
        rss = r["maxrss_kib"] / (1024 * 1024) if sys.platform == "darwin" else r["maxrss_kib"] / 1024
        return Measure(r["wall"], r["user"], r["sys"], rss, r["exit_code"], r.get("runqueue", 0.0))

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(timeout=10)


# Variables that would change what a measured process does: the monitor's own settings, bytecode
# caching (an installed command has its cache), and proxies (every request must reach 127.0.0.1).
_DROPPED = {
    "PYTHONDONTWRITEBYTECODE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") and k not in _DROPPED}
    env.update(extra or {})
    return env


def variant_env(src: Path | None, extra: list[str]) -> dict[str, str]:
    """Environment of a variant: `src` first on PYTHONPATH (a scratch copy of the core), plus NAME=VALUE items."""
    env = dict(item.partition("=")[::2] for item in extra)
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src.resolve()), env.get("PYTHONPATH")]))
    return env


class Server:
    """bench/server.py in its own process (its CPU is never counted), with its control URLs."""

    def __init__(self, python: str, sources: int, use_gzip: bool, log: Path):
        argv = [python, str(BENCH / "server.py"), "--sources", str(sources)] + (["--gzip"] if use_gzip else [])
        self.sources = sources
        with open(log, "wb") as err:  # the server writes to its own copy of the descriptor
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err)
        line = self.proc.stdout.readline().decode().strip()  # type: ignore[union-attr]
        if not line.startswith("READY "):
            self.stop()
            raise SystemExit(f"the benchmark server did not start (see {log})")
        self.base_url = line.split(" ", 1)[1]

    _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy

    def control(self, command: str) -> dict:
        with self._opener.open(f"{self.base_url}/_control/{command}", timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def git_head() -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "monitor", "watchers", "notifiers"],
            capture_output=True,
            text=True,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else None
    except OSError:
        return None
