"""bin/monitor and bin/test on a fresh clone: one shared environment, set up once with progress shown, never
reinstalled when switching scripts, and `bin/monitor` run in the caller's directory.

The scripts run for real in a copy of the repository's bin/ and pyproject.toml; the Python they find
(`PYTHON=`) is a stand-in that makes a stand-in environment and logs every pip call instead of making
one, so each test takes a fraction of a second and never reaches the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The stand-in for python3.11: `-m venv DIR` makes DIR/bin/python (this same script), DIR/bin/monitor
# (which prints where it runs and its arguments) and DIR/bin/ruff and mypy (logged; exit $FAKE_LINT_STATUS);
# `-m pip` is logged and prints pip's progress lines;
# anything else (the version check) is the real interpreter.
FAKE_PYTHON = f"""#!/usr/bin/env bash
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin"
    cp "$0" "$3/bin/python"
    printf '#!/usr/bin/env bash\\necho "cwd=$(pwd) args=$*"\\n' >"$3/bin/monitor"
    for tool in ruff mypy; do
        printf '#!/usr/bin/env bash\\necho "%s $*" >>"$FAKE_LOG"\\nexit ${{FAKE_LINT_STATUS:-0}}\\n' \\
            $tool >"$3/bin/$tool"
    done
    chmod +x "$3/bin/monitor" "$3/bin/ruff" "$3/bin/mypy"
elif [ "$1 $2" = "-m pip" ]; then
    echo "pip $*" >>"$FAKE_LOG"
    echo "Collecting httpx>=0.27"
    echo "  Downloading httpx-0.28.1-py3-none-any.whl (73 kB)"
    echo "Installing collected packages: httpx"
    echo "Successfully installed ${{FAKE_INSTALLED:-httpx-0.28.1}}"
elif [ "$1 $2" = "-m pytest" ]; then
    echo "pytest $*" >>"$FAKE_LOG"
else
    exec {sys.executable} "$@"
fi
"""


class Clone:
    """A copy of bin/ and pyproject.toml, with the stand-in Python on the way."""

    def __init__(self, tmp_path: Path):
        self.root = tmp_path / "clone"
        shutil.copytree(REPO / "bin", self.root / "bin")
        shutil.copy(REPO / "pyproject.toml", self.root / "pyproject.toml")
        tools = tmp_path / "tools"
        tools.mkdir()
        (tools / "python3.11").write_text(FAKE_PYTHON)
        (tools / "pg_isready").write_text("#!/bin/sh\nexit 0\n")  # bin/test: PostgreSQL "is up"
        for tool in tools.iterdir():
            tool.chmod(0o755)
        self.log = tmp_path / "calls.log"
        self.log.touch()
        self.env = {
            **os.environ,
            "PYTHON": str(tools / "python3.11"),
            "FAKE_LOG": str(self.log),
            "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        }
        self.elsewhere = tmp_path / "elsewhere"
        self.elsewhere.mkdir()

    def run(self, script: str, *args: str, status: int = 0) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.root / "bin" / script), *args],
            cwd=self.elsewhere,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == status, result.stderr
        return result

    def pip_calls(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith("pip ")]

    def installs(self) -> list[str]:
        return [call for call in self.pip_calls() if " -e " in call]


@pytest.fixture
def clone(tmp_path):
    if not shutil.which("bash") or not shutil.which("sha256sum"):
        pytest.skip("the bin scripts need bash and sha256sum")
    return Clone(tmp_path)


@pytest.fixture
def clone_with_lock(clone):
    shutil.copy(REPO / "requirements-dev.lock", clone.root / "requirements-dev.lock")
    return clone


def test_first_run_sets_up_once_with_progress_then_runs_in_the_callers_directory(clone):
    """A fresh clone: progress on stderr (never stdout), one install with the test tools, and the command
    runs where it was called, so `--config ./mine.yaml` is the caller's file."""
    result = clone.run("monitor", "validate", "--config", "./mine.yaml")
    assert result.stdout == f"cwd={clone.elsewhere} args=validate --config ./mine.yaml\n"
    assert "set-up: creating the virtual environment" in result.stderr
    assert "  Collecting httpx>=0.27" in result.stderr and "  Successfully installed httpx-0.28.1" in result.stderr
    assert "Downloading" not in result.stderr  # only a line per package, not pip's every line
    assert clone.installs() == [f"pip -m pip install --progress-bar off -e {clone.root}[dev]"]


def test_switching_between_monitor_and_test_never_reinstalls(clone):
    """After the first set-up neither script runs pip again, in either order, and says nothing about set-up."""
    clone.run("monitor", "check")
    calls = len(clone.pip_calls())
    for script, args in [("test", ["-x"]), ("monitor", ["status"]), ("test", []), ("monitor", ["check"])]:
        result = clone.run(script, *args)
        assert "set-up" not in result.stderr
    assert len(clone.pip_calls()) == calls
    assert "pytest -m pytest -x" in clone.log.read_text()


def test_bin_test_lints_formats_and_type_checks_before_the_tests(clone):
    """bin/test (and so CI) runs ruff, ruff format --check and mypy, then pytest; `--no-lint` skips them."""
    clone.run("test", "-q")
    calls = [line.strip() for line in clone.log.read_text().splitlines() if not line.startswith("pip")]
    assert calls == ["ruff check .", "ruff format --check .", "mypy", "pytest -m pytest -q"]
    clone.log.write_text("")
    clone.run("test", "--no-lint", "-x")
    assert clone.log.read_text().splitlines() == ["pytest -m pytest -x"]


def test_a_lint_or_type_error_fails_bin_test_after_the_tests_ran(clone):
    """A finding fails the run (CI goes red), but the tests still run so one run shows everything."""
    clone.run("monitor", "check")
    clone.env["FAKE_LINT_STATUS"] = "1"
    result = clone.run("test", status=1)
    assert "pytest -m pytest" in clone.log.read_text()
    assert "bin/lint found problems" in result.stderr.splitlines()[-1]


def test_bin_test_first_sets_up_the_same_environment(clone):
    """Starting with bin/test installs the one environment; bin/monitor then uses it as it is."""
    clone.run("test")
    clone.run("monitor", "check")
    assert len(clone.installs()) == 1


def test_a_changed_pyproject_installs_once_more(clone):
    """Editing pyproject.toml (a new dependency) installs again, once; the runs after it do not."""
    clone.run("monitor", "check")
    pyproject = clone.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# a change\n")
    result = clone.run("test")
    assert "set-up: installing" in result.stderr and "creating" not in result.stderr
    clone.run("monitor", "check")
    clone.run("test")
    assert len(clone.installs()) == 2


def test_an_environment_set_up_by_the_earlier_scheme_for_tests_is_complete(clone):
    """A .venv that bin/test set up before this change (stamp `.installed-<digest>-dev`) is used without pip."""
    clone.run("monitor", "check")
    venv = clone.root / ".venv"
    digest = next(venv.glob(".complete-*")).name.removeprefix(".complete-")
    next(venv.glob(".complete-*")).rename(venv / f".installed-{digest}-dev")
    calls = len(clone.pip_calls())
    clone.run("monitor", "check")
    assert len(clone.pip_calls()) == calls


def test_with_a_lock_file_the_pinned_versions_are_installed_then_the_monitor(clone_with_lock):
    """With requirements-dev.lock: one hash-checked install of the pins, then the monitor itself; no warning
    when the lock has everything; no pip at all on the next runs."""
    clone = clone_with_lock
    clone.env["FAKE_INSTALLED"] = "court-filing-monitor-0.1.0"  # the second install adds only the monitor
    result = clone.run("monitor", "check")
    lock = clone.root / "requirements-dev.lock"
    assert [c for c in clone.pip_calls() if "--upgrade pip" not in c] == [
        f"pip -m pip install --progress-bar off --require-hashes -r {lock}",
        f"pip -m pip install --progress-bar off -e {clone.root}[dev]",
    ]
    assert "from requirements-dev.lock" in result.stderr and "warning" not in result.stderr
    calls = len(clone.pip_calls())
    clone.run("test")
    assert len(clone.pip_calls()) == calls


def test_a_changed_lock_file_installs_once_more(clone_with_lock):
    """A refreshed lock (bin/lock) installs the new pins once; the runs after it do not."""
    clone = clone_with_lock
    clone.run("monitor", "check")
    lock = clone.root / "requirements-dev.lock"
    lock.write_text(lock.read_text() + "\n# refreshed\n")
    result = clone.run("test")
    assert "set-up: installing the pinned dependencies" in result.stderr
    clone.run("monitor", "check")
    assert len([c for c in clone.pip_calls() if "--require-hashes" in c]) == 2


def test_a_lock_file_missing_a_dependency_installs_it_and_says_to_run_bin_lock(clone_with_lock):
    """pyproject.toml asks for a package the lock lacks: it is installed from the index all the same, and a
    warning names it and says to run bin/lock."""
    result = clone_with_lock.run("monitor", "check")  # the stand-in pip "installs" httpx with the monitor
    assert "warning: requirements-dev.lock lacks what pyproject.toml asks for" in result.stderr
    assert "httpx-0.28.1" in result.stderr and "run bin/lock" in result.stderr


def _venv_digest() -> str:
    """The stamp's digest as bin/_venv.sh computes it: pyproject.toml, then the lock file if there is one."""
    data = (REPO / "pyproject.toml").read_bytes()
    if (REPO / "requirements-dev.lock").exists():
        data += (REPO / "requirements-dev.lock").read_bytes()
    return subprocess.run(["sha256sum"], input=data, capture_output=True, check=True).stdout.decode()[:16]


def test_the_real_bin_monitor_reads_a_config_relative_to_the_caller(tmp_path):
    """This repository's own bin/monitor, from another directory: `./mine.yaml` is found there."""
    digest = _venv_digest()
    if not (REPO / ".venv" / f".complete-{digest}").exists():
        pytest.skip("this checkout's .venv is not set up by bin/ (and setting it up here would need the network)")
    (tmp_path / "mine.yaml").write_text("watches:\n  - {id: mine, type: feed, url: 'http://127.0.0.1:9/feed.xml'}\n")
    result = subprocess.run(
        [str(REPO / "bin" / "monitor"), "validate", "--config", "./mine.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mine.yaml: OK: 1 watches") and "mine" in result.stdout
    assert "set-up" not in result.stderr
