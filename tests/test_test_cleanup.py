"""The suite's own promise: every `monitor run` a test starts is stopped, whatever happens to the test.

A timed-out replica test once left two daemons alive for minutes, holding PostgreSQL leases and breaking
the next run. Both ways a test can end badly are run here for real, in a separate pytest process: the test
times out (pytest-timeout's signal: the fixtures' teardown runs, and the next test must find the daemon
stopped, not merely the session's end), or the whole pytest process is killed
(SIGKILL: no teardown at all; the daemon dies with its parent).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.support.daemon import REPO

INNER_TEST = textwrap.dedent(
    """
    import time
    from pathlib import Path

    import pytest

    from tests.support.daemon import DaemonProcess

    @pytest.mark.timeout({timeout})
    def test_starts_a_daemon_and_hangs(tmp_path):
        config = tmp_path / "watches.yaml"
        config.write_text(
            "state: sqlite:///" + str(tmp_path / "state.db") + "\\n"
            "watches:\\n  - {{id: a, type: feed, url: 'http://127.0.0.1:9/feed', every: 1h}}\\n"
        )
        daemon = DaemonProcess(config, tmp_path)
        daemon.base_url  # running: its probe answers
        Path({pid_file!r}).write_text(str(daemon.proc.pid))
        time.sleep(600)

    def test_the_next_test_finds_it_stopped():
        import os
        pid = int(Path({pid_file!r}).read_text())
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{{pid}}/stat").read_text().split()[2]
        except (ProcessLookupError, FileNotFoundError):
            state = "gone"
        assert state in ("gone", "Z"), f"daemon {{pid}} still running (state {{state}})"
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent (gone, or the inner pytest) has not reaped it yet.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _run_inner(tmp_path: Path, timeout: int) -> tuple[subprocess.Popen[bytes], Path]:
    pid_file = tmp_path / "daemon.pid"
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (inner / "test_inner.py").write_text(INNER_TEST.format(timeout=timeout, pid_file=str(pid_file)))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(inner), str(inner)],
        cwd=inner,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return proc, pid_file


def _wait_for_pid(proc: subprocess.Popen[bytes], pid_file: Path) -> int:
    deadline = time.monotonic() + 120  # a loaded machine starts a daemon slowly
    while not pid_file.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the inner test ended before starting its daemon:\n{proc.stdout.read().decode()}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the inner test never started its daemon"
        time.sleep(0.1)
    time.sleep(0.05)  # the pid is written in one call; let it land
    return int(pid_file.read_text())


def _assert_gone(pid: int, within: float) -> None:
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"the daemon {pid} outlived the test that started it")
        time.sleep(0.1)


def test_a_timed_out_test_leaves_no_daemon_running(tmp_path):
    proc, pid_file = _run_inner(tmp_path, timeout=20)
    try:
        pid = _wait_for_pid(proc, pid_file)
        assert _alive(pid)
        output = proc.communicate(timeout=120)[0].decode()
        # the hung test fails by its timeout; the next one, in the same process, finds its daemon stopped
        assert proc.returncode == 1 and "Timeout" in output and "1 failed, 1 passed" in output, output
        _assert_gone(pid, within=5)
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_test_process_leaves_no_daemon_running(tmp_path):
    proc, pid_file = _run_inner(tmp_path, timeout=300)
    try:
        pid = _wait_for_pid(proc, pid_file)
        assert _alive(pid)
        proc.kill()  # SIGKILL: no fixture teardown runs
        proc.wait()
        _assert_gone(pid, within=10)
    finally:
        proc.kill()
        proc.wait()
