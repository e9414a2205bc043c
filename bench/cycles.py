"""One repetition of the three cycles for one tool, and what makes a cycle valid.

`MonitorTool` runs `python -m monitor check` (or a wrapper: bench/phases.py, bench/variant.py, a
profiler) on a config written for the server's sources; `UrlwatchTool` runs urlwatch 2.29 (bench/peer.py).
`run_repetition` takes each through `first`, `unchanged` and `changed` over fresh state and keeps
each cycle's measure with the problems found in its output, so no broken run is reported as a fast one.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import content
import peer
from harness import Launcher, Measure, Server
from report import SCENARIOS


@dataclass
class Cycle:
    tool: str  # "monitor" or "urlwatch"
    variant: str  # "main", "compare" (the monitor's A/B)
    sources: int
    scenario: str
    repetition: int
    measure: Measure
    server: dict
    valid: bool
    problems: list[str] = field(default_factory=list)
    db_bytes: int = 0


# ------------------------------------------------------------------ the monitor


def write_config(path: Path, base_url: str, sources: int, state_url: str, per_host: int | None) -> None:
    """The monitor's configuration, in block-style YAML as a person writes it: the watches, console alerts."""
    import yaml

    config: dict = {
        "state": state_url,
        "defaults": {"every": "10m"},
        "notifiers": {"terminal": {"type": "console"}},
        "watches": content.watches(sources, base_url),
    }
    if per_host:
        config["http"] = {"per_host": per_host}
    path.write_text(
        yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True, width=200),
        encoding="utf-8",
    )


_WATCH_LINE = re.compile(r"^((?:feed|page)-\d{4,}): (.*)$")
_ALERT_LINE = re.compile(r"^\[([A-Za-z ]+)\] ((?:feed|page)-\d{4,}): (.*)$")


def validate(scenario: str, sources: int, measure: Measure, stdout: str, server: dict) -> list[str]:
    """What must be true of one `monitor check` cycle for its figures to mean anything."""
    problems = []
    if measure.exit_code != 0:
        problems.append(f"exit status {measure.exit_code}")
    lines = stdout.splitlines()
    outcome = {m.group(1): m.group(2) for m in map(_WATCH_LINE.match, lines) if m}
    alerts = [m.groups() for m in map(_ALERT_LINE.match, lines) if m]
    baseline = sum(1 for text in outcome.values() if text.startswith("baseline recorded: 20 items"))
    unchanged = sum(1 for text in outcome.values() if text == "unchanged")
    added = {w for w, text in outcome.items() if re.fullmatch(r"1 added(, 1 removed)? \(20 items\)", text)}
    failed = sum(1 for text in outcome.values() if text.startswith("FAILED"))
    expected = content.expected_new_titles(sources)
    if f"{sources} watches checked, 0 failed" not in lines[-1:]:
        problems.append(f"last line is {lines[-1:]!r}, {failed} watches failed")
    if scenario == "first":
        if baseline != sources:
            problems.append(f"{baseline} baselines recorded, expected {sources}")
        if server.get("ok") != sources:
            problems.append(f"server sent {server.get('ok')} bodies, expected {sources}")
    elif scenario == "unchanged":
        if unchanged != sources:
            problems.append(f"{unchanged} watches unchanged, expected {sources}")
        if server.get("not_modified") != sources:
            problems.append(f"server answered {server.get('not_modified')} times 304, expected {sources}")
    else:
        if added != set(expected) or unchanged != sources - len(expected):
            problems.append(
                f"{len(added)} watches with one new item ({len(added - set(expected))} not expected) and "
                f"{unchanged} unchanged, expected {len(expected)} and {sources - len(expected)}"
            )
        if server.get("ok") != len(expected) or server.get("not_modified") != sources - len(expected):
            problems.append(
                f"server: {server.get('ok')} bodies and {server.get('not_modified')} 304s, expected "
                f"{len(expected)} and {sources - len(expected)}"
            )
        if f"deliveries: {len(expected)} sent, 0 to retry, 0 failed" not in lines:
            said = next((ln for ln in lines if ln.startswith("deliveries: ")), "no deliveries line")
            problems.append(f"expected {len(expected)} alerts delivered, the monitor says {said!r}")
        printed = {watch: title for kind, watch, title in alerts if kind == "New"}
        if len(alerts) != len(expected) or printed != expected:
            wrong = sum(1 for w, t in expected.items() if printed.get(w) != t)
            problems.append(
                f"{len(alerts)} alerts printed, {wrong} of the {len(expected)} expected ones missing or wrong"
            )
    return problems


class MonitorTool:
    """`python -m monitor check` as the measured child; `wrap` replaces `-m monitor` per scenario."""

    name = "monitor"
    state_glob = "monitor.db*"

    def __init__(
        self,
        args: argparse.Namespace,
        env: dict[str, str],
        *,
        variant: str = "main",
        wrap: dict[str, tuple[list[str], dict[str, str]]] | None = None,
        per_host: int | None = None,
    ):
        self.args, self.env, self.variant, self.wrap = args, env, variant, wrap or {}
        self.per_host = per_host or args.per_host
        self.config: Path | None = None

    def prepare(self, tmp: Path, server: Server) -> None:
        self.config = tmp / "watches.yaml"
        write_config(self.config, server.base_url, server.sources, f"sqlite:///{tmp / 'monitor.db'}", self.per_host)

    def command(self, scenario: str) -> tuple[list[str], dict[str, str]]:
        prefix, extra = self.wrap.get(scenario, (["-m", "monitor"], {}))
        return [self.args.python, *prefix, "check", "--config", str(self.config)], {**self.env, **extra}

    validate = staticmethod(validate)


class UrlwatchTool:
    name = "urlwatch"
    state_glob = "cache.db*"
    variant = "main"
    per_host: int | None = None  # the monitor's setting; urlwatch has none

    def __init__(self, prefix: list[str], env: dict[str, str]):
        self.prefix, self.env = prefix, env
        self.files: list[str] = []

    def prepare(self, tmp: Path, server: Server) -> None:
        self.files = peer.write_files(tmp, server.sources, server.base_url)

    def command(self, scenario: str) -> tuple[list[str], dict[str, str]]:
        return [*self.prefix, *self.files], self.env

    validate = staticmethod(peer.validate)


# ------------------------------------------------------------------ one repetition


def run_repetition(
    tool,
    rep: int,
    launcher: Launcher,
    server: Server,
    out_dir: Path,
    *,
    label: str = "",
    keep: bool = False,
    importtime: int = 0,
) -> list[Cycle]:
    """first, unchanged, changed: one sequence over fresh state. With `importtime` N, N more (unmeasured)
    unchanged checks under `-X importtime`, written to importtime-check-<n>.txt."""
    label = label or f"{tool.name}-{tool.variant}-"
    tmp = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    cycles = []
    try:
        # HOME: urlwatch (and anything else) must not read or write the real user's files
        tool.prepare(tmp, server)
        server.control("phase/base")
        for scenario in SCENARIOS:
            if scenario == "changed":
                server.control("phase/changed")
            server.control("reset")
            prefix = f"{label}{server.sources}-rep{rep}-{scenario}"
            argv, env = tool.command(scenario)
            m = launcher.run(
                argv,
                env={**env, "HOME": str(tmp)},
                cwd=tmp,
                stdout=out_dir / f"{prefix}.out",
                stderr=out_dir / f"{prefix}.err",
            )
            stats = server.control("stats")
            stdout = (out_dir / f"{prefix}.out").read_text(encoding="utf-8", errors="replace")
            problems = tool.validate(scenario, server.sources, m, stdout, stats)
            size = sum(p.stat().st_size for p in tmp.glob(tool.state_glob))
            cycles.append(
                Cycle(tool.name, tool.variant, server.sources, scenario, rep, m, stats, not problems, problems, size)
            )
            status = "ok" if not problems else "INVALID: " + "; ".join(problems)
            print(
                f"  {label}{server.sources} rep {rep} {scenario:<9} wall {m.wall:6.3f}s  cpu "
                f"{m.cpu:6.3f}s (user {m.user:.3f} sys {m.sys:.3f})  waiting for a CPU {m.runqueue:.2f}s  "
                f"idle {m.idle:.2f}s  peak {m.maxrss_mib:5.1f} MiB  "
                f"connections {stats.get('connections')}  state {size / 1e6:5.1f} MB  {status}",
                flush=True,
            )
            for n in range(importtime if scenario == "unchanged" else 0):
                argv, env = tool.command(scenario)
                with open(out_dir / f"importtime-check-{n}.txt", "wb") as err:
                    subprocess.run(
                        [argv[0], "-X", "importtime", *argv[1:]],
                        env={**env, "HOME": str(tmp)},
                        cwd=tmp,
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                    )
        server.control("phase/base")
    finally:
        if keep:
            shutil.copytree(tmp, out_dir / f"{label}{server.sources}-rep{rep}-state")
        shutil.rmtree(tmp, ignore_errors=True)
    return cycles
