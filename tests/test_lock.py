"""The lock files (`bin/lock`) match pyproject.toml: a dependency added or a floor raised without refreshing
them fails here, so a forgotten `bin/lock` is caught before the Docker image or CI installs stale pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"
# what the locks are compiled for (bin/lock): CPython 3.11 on Linux x86_64 (markers not named here are
# evaluated for this machine)
TARGET: dict[str, str] = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(lock: Path) -> dict[str, tuple[Version, int]]:
    """Every package pinned in a lock file: its version and how many hashes it has."""
    found: dict[str, tuple[Version, int]] = {}
    name = None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match[1])
            found[name] = (Version(match[2]), 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            version, hashes = found[name]
            found[name] = (version, hashes + 1)
    return found


def requirements(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    reqs = [Requirement(text) for text in wanted]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({**TARGET, "extra": extra or ""})]


def stale(lock: Path, reqs: list[Requirement]) -> list[str]:
    locked = pins(lock)
    problems = []
    for req in reqs:
        name = canonicalize_name(req.name)
        if name not in locked:
            problems.append(f"{req.name} is not in {lock.name}")
        elif not req.specifier.contains(locked[name][0], prereleases=True):
            problems.append(f"{req.name}: {lock.name} pins {locked[name][0]}, pyproject.toml asks for {req.specifier}")
    return problems


@pytest.mark.parametrize(
    "lock, extras",
    [(RUNTIME_LOCK, [None]), (DEV_LOCK, [None, "dev"])],
    ids=["requirements.lock", "requirements-dev.lock"],
)
def test_every_dependency_of_pyproject_is_pinned_in_the_lock_within_its_range(lock, extras):
    """Each dependency (the dev extra too, for requirements-dev.lock) is pinned, at a version pyproject.toml
    allows; otherwise: run bin/lock and commit the lock files."""
    problems = [p for extra in extras for p in stale(lock, requirements(extra))]
    assert not problems, "the lock files are out of date; run bin/lock:\n  " + "\n  ".join(problems)


def test_every_pin_has_hashes_and_both_locks_agree():
    """pip's --require-hashes needs a hash for every package; the image (requirements.lock) and the tests
    (requirements-dev.lock) run the same version of every package they share."""
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    assert not [name for name, (_, hashes) in {**runtime, **dev}.items() if hashes == 0]
    assert {name: version for name, (version, _) in runtime.items()} == {
        name: dev[name][0] for name in runtime if name in dev
    }
    assert set(runtime) <= set(dev)


def test_the_checks_catch_a_dependency_the_lock_lacks(tmp_path):
    """The check above can fail: a lock without httpx, or with httpx pinned below its floor, is reported."""
    text = RUNTIME_LOCK.read_text()
    without = tmp_path / "requirements.lock"
    without.write_text(re.sub(r"(?m)^httpx==.*\n(?:    .*\n)*", "", text))
    assert stale(without, requirements()) == ["httpx is not in requirements.lock"]
    too_old = tmp_path / "old.lock"
    too_old.write_text(re.sub(r"(?m)^httpx==\S+", "httpx==0.20.0", text))
    wanted = next(r.specifier for r in requirements() if r.name == "httpx")
    assert stale(too_old, requirements()) == [f"httpx: old.lock pins 0.20.0, pyproject.toml asks for {wanted}"]


def test_the_docker_image_installs_from_the_lock_file():
    """The Dockerfile installs the runtime pins hash-checked, then the monitor without resolving anything."""
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "--require-hashes -r /tmp/requirements.lock" in dockerfile
    assert "--no-deps" in dockerfile
