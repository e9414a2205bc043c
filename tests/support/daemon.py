"""`monitor run` as a real subprocess, for daemon tests: start it, read its logs and alerts, signal it.

Standard output (where the console notifier prints alerts) and standard error (JSON log lines, since
it is not a terminal) go to files in the test's temp dir, so nothing blocks on a full pipe and a failed
test can show both. The probe address is read from the startup log line (`--listen 127.0.0.1:0`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

# Every daemon a test starts, so that the `_stop_daemons` fixture (tests/conftest.py) stops whatever a
# failed or timed-out test left running: a leftover `monitor run` would hold leases in the shared
# PostgreSQL database and break the next test.
RUNNING: set[DaemonProcess] = set()


def _die_with_parent() -> None:
    """In the child, before exec: die when the test process dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop_all_daemons(daemons: set[DaemonProcess]) -> None:
    """SIGTERM the given daemons, then SIGKILL whichever has not stopped within its grace."""
    for daemon in list(daemons):
        if daemon.proc.poll() is None:
            daemon.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for daemon in list(daemons):
        try:
            daemon.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            daemon.proc.kill()
            daemon.proc.wait(5)
        RUNNING.discard(daemon)


class DaemonProcess:
    def __init__(
        self,
        config: Path,
        workdir: Path,
        *,
        name: str = "daemon",
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ):
        self.out_path = workdir / f"{name}.stdout"
        self.err_path = workdir / f"{name}.stderr"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO), **(env or {})}
        full_env.pop("MONITOR_LISTEN", None)
        cmd = [sys.executable, "-m", "monitor", "run", "--config", str(config), "--listen", "127.0.0.1:0", *args]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=err,
                cwd=workdir,
                env=full_env,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        RUNNING.add(self)
        self._base_url: str | None = None

    # ---------------------------------------------------------------- output

    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def logs(self) -> list[dict[str, Any]]:
        records = []
        for line in self.stderr().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                records.append({"msg": line, "level": "raw"})
        return records

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None and not predicate():
                raise AssertionError(f"daemon exited ({self.proc.returncode}) before {what}\n{self.dump()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.dump()}")
            time.sleep(0.05)

    def wait_log(self, text: str, timeout: float = 10.0, *, watch: str | None = None) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for record in self.logs():
                if text in record.get("msg", "") and (watch is None or record.get("watch") == watch):
                    return record
            return None

        return self.wait_for(find, timeout, f"log line {text!r}" + (f" for {watch}" if watch else ""))

    def wait_stdout(self, text: str, timeout: float = 10.0) -> str:
        return self.wait_for(lambda: text in self.stdout() and self.stdout(), timeout, f"{text!r} on stdout")

    def dump(self) -> str:
        return f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"

    # ---------------------------------------------------------------- probes

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            record = self.wait_log("monitor running", timeout=60)  # a loaded machine starts slowly
            self._base_url = f"http://{record['listen']}"
        return self._base_url

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample's value from /metrics, or None if absent."""
        _, text = self.get("/metrics")
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            metric, _, rest = key.partition("{")
            got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
            if metric == name and got == want:
                return float(value)
        return None

    # ---------------------------------------------------------------- control

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"daemon still running {timeout}s later\n{self.dump()}") from None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, and the exit status."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
