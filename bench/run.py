"""Benchmark: `monitor check` over 1,000 (and 10,000) watches on a local server, beside urlwatch 2.29.

    .venv/bin/python bench/run.py --all                # everything issue 16 asks for, in one run (≈ 10 min)
    .venv/bin/python bench/run.py                      # the monitor's three cycles, 3 repetitions, medians
    .venv/bin/python bench/run.py --peer               # ... with urlwatch 2.29 on the same sources, interleaved
    .venv/bin/python bench/run.py --phases 1           # also CPU time by phase (bench/phases.py)
    .venv/bin/python bench/run.py --profile            # also profile each cycle (cProfile; pyinstrument if installed)
    .venv/bin/python bench/run.py --compare /tmp/copy  # A/B against a scratch copy of the core (see README.md)
    .venv/bin/python bench/run.py --variant aiohttp    # A/B: the same code with a candidate speed-up (bench/variant.py)

What it does:
1. starts bench/server.py in its own process (its CPU time is never counted): half RSS feeds built
   from a recorded DOJ feed, half HTML news listings of ~37-40 KB, 20 items each, with ETags and 304s;
2. measures the interpreter start and the monitor's imports alone (`python -c "import ..."`), and
   writes a `-X importtime` breakdown;
3. for each repetition, with fresh state in a temporary directory, runs three cycles as a child
   process: `first` (everything new: a baseline, no alerts), `unchanged` (every source answers 304),
   `changed` (10% of the sources list one new item: that many alerts); the monitor is
   `python -m monitor check --config ...`, urlwatch (--peer) is `urlwatch --urls ... --cache ...` (bench/peer.py);
   wall time, CPU time (user + system of the process tree) and peak RSS come from `os.wait4`;
4. checks each cycle did exactly what it should (all baselines; all 304s; exactly the expected 10% of
   the watches with their one new item, and the alert for each, and nothing else) so that a broken or
   half-done run is never reported as a fast one;
5. with --all, also: 10,000 sources (one repetition, memory and per-source cost against 1,000),
   the memory a loaded 10,000-watch config holds, and the 10,000-entry docket diff (bench/probes.py);
6. prints the medians against the targets and writes everything to bench/results/<timestamp>/
   (summary.md, results.json, each child's output, profiles).

Exit status: 0 when every cycle was valid (whether or not the targets were met), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import content  # noqa: E402
import peer  # noqa: E402
import report  # noqa: E402
from harness import BENCH, Launcher, Measure, Server, child_env, git_head, variant_env  # noqa: E402
from report import SCENARIOS  # noqa: E402

IMPORTS = "import monitor.cli, monitor.engine, watchers, notifiers, monitor.app"
SCALE_SOURCES = 10_000


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
    path.write_text(yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True, width=200),
                    encoding="utf-8")


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
            problems.append(f"{len(added)} watches with one new item ({len(added - set(expected))} not expected) and "
                            f"{unchanged} unchanged, expected {len(expected)} and {sources - len(expected)}")
        if server.get("ok") != len(expected) or server.get("not_modified") != sources - len(expected):
            problems.append(f"server: {server.get('ok')} bodies and {server.get('not_modified')} 304s, expected "
                            f"{len(expected)} and {sources - len(expected)}")
        if f"deliveries: {len(expected)} sent, 0 to retry, 0 failed" not in lines:
            said = next((ln for ln in lines if ln.startswith("deliveries: ")), "no deliveries line")
            problems.append(f"expected {len(expected)} alerts delivered, the monitor says {said!r}")
        printed = {watch: title for kind, watch, title in alerts if kind == "New"}
        if len(alerts) != len(expected) or printed != expected:
            wrong = sum(1 for w, t in expected.items() if printed.get(w) != t)
            problems.append(f"{len(alerts)} alerts printed, {wrong} of the {len(expected)} expected ones missing or "
                            "wrong")
    return problems


class MonitorTool:
    """`python -m monitor check` as the measured child; `wrap` replaces `-m monitor` per scenario."""

    name = "monitor"
    state_glob = "monitor.db*"

    def __init__(self, args: argparse.Namespace, env: dict[str, str], *, variant: str = "main",
                 wrap: dict[str, tuple[list[str], dict[str, str]]] | None = None, per_host: int | None = None):
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

    def __init__(self, prefix: list[str], env: dict[str, str]):
        self.prefix, self.env = prefix, env
        self.files: list[str] = []

    def prepare(self, tmp: Path, server: Server) -> None:
        self.files = peer.write_files(tmp, server.sources, server.base_url)

    def command(self, scenario: str) -> tuple[list[str], dict[str, str]]:
        return [*self.prefix, *self.files], self.env

    validate = staticmethod(peer.validate)


# ------------------------------------------------------------------ one repetition


def run_repetition(tool, rep: int, launcher: Launcher, server: Server, out_dir: Path, *, label: str = "",
                   keep: bool = False, importtime: int = 0) -> list[Cycle]:
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
            m = launcher.run(argv, env={**env, "HOME": str(tmp)}, cwd=tmp, stdout=out_dir / f"{prefix}.out",
                             stderr=out_dir / f"{prefix}.err")
            stats = server.control("stats")
            stdout = (out_dir / f"{prefix}.out").read_text(encoding="utf-8", errors="replace")
            problems = tool.validate(scenario, server.sources, m, stdout, stats)
            size = sum(p.stat().st_size for p in tmp.glob(tool.state_glob))
            cycles.append(Cycle(tool.name, tool.variant, server.sources, scenario, rep, m, stats, not problems,
                                problems, size))
            status = "ok" if not problems else "INVALID: " + "; ".join(problems)
            print(f"  {label}{server.sources} rep {rep} {scenario:<9} wall {m.wall:6.3f}s  cpu "
                  f"{m.cpu:6.3f}s (user {m.user:.3f} sys {m.sys:.3f})  waiting for a CPU {m.runqueue:.2f}s  "
                  f"idle {m.idle:.2f}s  peak {m.maxrss_mib:5.1f} MiB  "
                  f"connections {stats.get('connections')}  state {size / 1e6:5.1f} MB  {status}", flush=True)
            for n in range(importtime if scenario == "unchanged" else 0):
                argv, env = tool.command(scenario)
                with open(out_dir / f"importtime-check-{n}.txt", "wb") as err:
                    subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env={**env, "HOME": str(tmp)}, cwd=tmp,
                                   stdout=subprocess.DEVNULL, stderr=err)
        server.control("phase/base")
    finally:
        if keep:
            shutil.copytree(tmp, out_dir / f"{label}{server.sources}-rep{rep}-state")
        shutil.rmtree(tmp, ignore_errors=True)
    return cycles


# ------------------------------------------------------------------ import overhead


def import_overhead(args: argparse.Namespace, launcher: Launcher, out_dir: Path, env: dict[str, str],
                    variant: str = "main", runs: int = 7) -> dict:
    """Interpreter start alone, and start + the monitor's imports: median of `runs` each."""
    result = {}
    for name, code in (("bare", "pass"), ("imports", IMPORTS), ("imports_frozen", IMPORTS + "; import gc; gc.freeze()")):
        # one untimed run first, so cached bytecode exists as it does for an installed command
        subprocess.run([args.python, "-c", code], env=env, cwd=out_dir, check=True)
        # cwd: not the repository, whose directory `-c` would put first on sys.path (ahead of --src)
        ms = [launcher.run([args.python, "-c", code], env=env, cwd=out_dir, stdout=out_dir / "import.out",
                           stderr=out_dir / "import.err") for _ in range(runs)]
        result[name] = {
            "wall": statistics.median(m.wall for m in ms),
            "cpu": statistics.median(m.cpu for m in ms),
            "maxrss_mib": statistics.median(m.maxrss_mib for m in ms),
        }
    proc = subprocess.run([args.python, "-X", "importtime", "-c", IMPORTS], env=env, cwd=out_dir, capture_output=True,
                          text=True)
    (out_dir / f"importtime-{variant}.txt").write_text(proc.stderr, encoding="utf-8")
    result["by_package"] = importtime_summary(proc.stderr)
    return result


def importtime_summary(text: str, top: int = 15) -> list[tuple[str, float]]:
    """Import time (ms) spent in each top-level package's own modules, from `-X importtime` output."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)", line)
        if m:
            package = m.group(3).split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(m.group(1)) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def importtime_medians(texts: list[str], top: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Median over several `-X importtime` runs: ms by package (own modules), and the costliest modules
    with what they import (cumulative), so that one run's noise does not pick the suspects."""
    by_package: dict[str, list[float]] = {}
    cumulative: dict[str, list[float]] = {}
    for text in texts:
        for name, ms in importtime_summary(text, top=1000):
            by_package.setdefault(name, []).append(ms)
        for m in re.finditer(r"import time:\s+\d+ \|\s+(\d+) \| *(\S+)", text):
            cumulative.setdefault(m.group(2), []).append(int(m.group(1)) / 1000)
    med = {k: statistics.median(v + [0.0] * (len(texts) - len(v))) for k, v in by_package.items()}
    cum = {k: statistics.median(v) for k, v in cumulative.items()}
    return {"by_package": sorted(med.items(), key=lambda kv: -kv[1])[:top],
            "modules_cumulative": sorted(cum.items(), key=lambda kv: -kv[1])[:top * 3]}


# ------------------------------------------------------------------ profiles and phases


def profile(args: argparse.Namespace, launcher: Launcher, server: Server, out_dir: Path,
            env: dict[str, str]) -> dict[str, list[str]]:
    """One more repetition under cProfile (and one under pyinstrument if installed); reports per scenario."""
    prof_dir = out_dir / "profile"
    prof_dir.mkdir(exist_ok=True)
    reports: dict[str, list[str]] = {}
    wrap = {s: (["-m", "cProfile", "-o", str(prof_dir / f"{s}.prof"), "-m", "monitor"], {}) for s in SCENARIOS}
    print("profiling with cProfile (figures inflated by the profiler)")
    run_repetition(MonitorTool(args, env, wrap=wrap), 0, launcher, server, prof_dir, label="cprofile-")
    import io
    import pstats

    for s in SCENARIOS:
        path = prof_dir / f"{s}.prof"
        if not path.exists():
            continue
        for sort in ("tottime", "cumulative"):
            buf = io.StringIO()
            stats = pstats.Stats(str(path), stream=buf)
            stats.strip_dirs().sort_stats(sort).print_stats(40)
            (prof_dir / f"{s}.{sort}.txt").write_text(buf.getvalue(), encoding="utf-8")
        reports.setdefault(s, []).append(str(prof_dir / f"{s}.tottime.txt"))
    has_pyinstrument = subprocess.run([args.python, "-c", "import pyinstrument"], env=env,
                                      capture_output=True).returncode == 0
    if has_pyinstrument:
        print("profiling with pyinstrument")
        wrap = {s: (["-m", "pyinstrument", "--renderer", "text", "--no-color", "--show", "*/monitor/*",
                     "-o", str(prof_dir / f"{s}.pyinstrument.txt"), "-m", "monitor"], {}) for s in SCENARIOS}
        run_repetition(MonitorTool(args, env, wrap=wrap), 0, launcher, server, prof_dir, label="pyinstrument-")
        for s in SCENARIOS:
            reports.setdefault(s, []).append(str(prof_dir / f"{s}.pyinstrument.txt"))
    else:
        print("pyinstrument is not installed (pip install pyinstrument): cProfile only")
    return reports


def phases(args: argparse.Namespace, launcher: Launcher, server: Server, out_dir: Path, env: dict[str, str],
           variant: str, runs: int, per_host: int | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """CPU and wall time by phase (bench/phases.py), median of `runs` extra repetitions:
    {"cpu": scenario -> phase -> seconds, "wall": the same}."""
    found: dict[str, dict[str, list[dict[str, float]]]] = {"cpu": {s: [] for s in SCENARIOS},
                                                           "wall": {s: [] for s in SCENARIOS}}
    for rep in range(1, runs + 1):
        files = {s: out_dir / f"phases-{variant}-rep{rep}-{s}.json" for s in SCENARIOS}
        wrap = {s: ([str(BENCH / "phases.py")], {"BENCH_PHASES_OUT": str(files[s])}) for s in SCENARIOS}
        run_repetition(MonitorTool(args, env, variant=variant, wrap=wrap, per_host=per_host), rep, launcher, server,
                       out_dir, label=f"phases-{variant}-")
        for s, path in files.items():
            if path.exists():
                data = json.loads(path.read_text())
                found["cpu"][s].append(data["phases"])
                found["wall"][s].append(data.get("wall_phases", {}))
    out: dict[str, dict[str, dict[str, float]]] = {"cpu": {}, "wall": {}}
    for kind, by_scenario in found.items():
        for s, runs_found in by_scenario.items():
            names = dict.fromkeys(name for r in runs_found for name in r)
            out[kind][s] = {name: statistics.median(r.get(name, 0.0) for r in runs_found) for name in names}
    return out


def probe(args: argparse.Namespace, env: dict[str, str], out_dir: Path, *probe_args: str) -> dict | None:
    """bench/probes.py in a child (the monitor's interpreter and environment); its JSON, or None if it failed."""
    name = probe_args[0]
    proc = subprocess.run([args.python, str(BENCH / "probes.py"), *probe_args], env=env, cwd=out_dir,
                          capture_output=True, text=True)
    (out_dir / f"probe-{name}.json").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        print(f"probe {name} failed: {proc.stderr.strip()[-500:]}")
        return None
    return json.loads(proc.stdout)


def http_experiments(args: argparse.Namespace, launcher: Launcher, server: Server, out_dir: Path,
                     env: dict[str, str]) -> dict:
    """Each transport × event loop through bench/probes.py http, interleaved `--experiment-repeat` times;
    and the CPU each adds to start-up (median of 7 `python -c "import ..."` runs each)."""
    combos = [(t, lp) for t in ("httpx", "aiohttp") for lp in ("asyncio", "uvloop")] + [("none", "asyncio")]
    found: dict[str, list[dict]] = {f"{t}+{lp}": [] for t, lp in combos}
    for rep in range(args.experiment_repeat):
        for t, lp in combos:
            result = probe(args, env, out_dir, "http", "--base-url", server.base_url, "--sources", str(server.sources),
                           "--transport", t, "--loop", lp)
            if result:
                found[f"{t}+{lp}"].append(result)
    out: dict = {"combos": {}, "imports": {}}
    for name, runs in found.items():
        if runs:
            out["combos"][name] = {key: statistics.median(r[key] for r in runs)
                                   for key in ("ms_per_200", "ms_per_304")} | {"runs": len(runs)}
    codes = {"`import monitor.http`": "import monitor.http",
             "`import monitor.http, httpx_aiohttp`": "import monitor.http, httpx_aiohttp",
             "`import monitor.http, uvloop`": "import monitor.http, uvloop"}
    for name, code in codes.items():
        subprocess.run([args.python, "-c", code], env=env, cwd=out_dir, check=False)  # bytecode cached first
        ms = [launcher.run([args.python, "-c", code], env=env, cwd=out_dir, stdout=out_dir / "import.out",
                           stderr=out_dir / "import.err") for _ in range(7)]
        out["imports"][name] = {"cpu": statistics.median(m.cpu for m in ms),
                                "maxrss_mib": statistics.median(m.maxrss_mib for m in ms)}
    return out


# ------------------------------------------------------------------ main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Benchmark `monitor check` over many watches on a local server.")
    parser.add_argument("--all", action="store_true", help="everything: 1,000 sources beside urlwatch, 10,000 "
                        "sources, config memory, the 10,000-entry diff; one summary")
    parser.add_argument("--sources", type=int, default=1000, help="number of watches: half feeds, half pages (1000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the three cycles; the median is reported (3)")
    parser.add_argument("--peer", action="store_true", help="also run urlwatch 2.29 on the same sources "
                        "(installed into bench/.venv-urlwatch on first use), repetitions interleaved")
    parser.add_argument("--scale", type=int, default=0, metavar="N", help=f"also run N repetitions over "
                        f"{SCALE_SOURCES:,} sources (--all: 1)")
    parser.add_argument("--scale-peer", action="store_true", help="with --scale: urlwatch at that size too (slow)")
    parser.add_argument("--diff-runs", type=int, default=21, help="runs of the 10,000-entry diff probe (21)")
    parser.add_argument("--profile", action="store_true", help="also profile each scenario (one more repetition per profiler)")
    parser.add_argument("--profile-only", action="store_true", help="profile, without the timed repetitions")
    parser.add_argument("--phases", type=int, default=0, metavar="N",
                        help="also run N repetitions through bench/phases.py: CPU time by phase, no profiler")
    parser.add_argument("--only-phases", action="store_true", help="with --phases: skip the timed repetitions")
    parser.add_argument("--gzip", action="store_true", help="the server sends gzip bodies (as most real sites do)")
    parser.add_argument("--per-host", type=int, default=None, help="set http.per_host in the monitor's config "
                        "(default: the monitor's own default; every source here is on one host)")
    parser.add_argument("--no-imports", action="store_true", help="skip the import-overhead measurement")
    parser.add_argument("--keep", action="store_true", help="keep each repetition's state database and config")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the monitor installed (this one)")
    parser.add_argument("--src", type=Path, default=None, help="run the monitor's code from this copy of the "
                        "repository (put first on PYTHONPATH): to measure a change to the core in a scratch copy")
    parser.add_argument("--compare", type=Path, default=None, metavar="SRC",
                        help="also run the monitor from this scratch copy, repetitions interleaved, and compare")
    parser.add_argument("--variant", action="append", default=[], metavar="NAMES",
                        help="also run the same code through bench/variant.py with these candidate speed-ups "
                        "(comma-separated: aiohttp, uvloop; repeatable, one variant each), interleaved, and compare")
    parser.add_argument("--per-host-sweep", default="", metavar="N,N,...",
                        help="also run the monitor with http.per_host set to each of these, interleaved, and compare")
    parser.add_argument("--experiments", action="store_true",
                        help="also measure the HTTP request path alone (bench/probes.py http: httpx or httpx-aiohttp "
                        "transport, asyncio or uvloop) and the import cost of each")
    parser.add_argument("--experiment-repeat", type=int, default=5, help="repetitions of each HTTP probe (5)")
    parser.add_argument("--compare-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the compare variant only (repeatable; alone, it compares "
                        "the same code with and without it)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the measured processes (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="results directory (default bench/results/<timestamp>)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.python = os.path.abspath(args.python)  # the launcher changes directory before it spawns
    if args.all:
        args.peer = True
        args.scale = args.scale or 1
    out_dir = args.out or BENCH / "results" / datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"results in {out_dir}")
    main_env = child_env(variant_env(args.src, args.env))
    tools = [MonitorTool(args, main_env)]
    if args.compare or args.compare_env:
        env = child_env(variant_env(args.compare or args.src, args.env + args.compare_env))
        tools.append(MonitorTool(args, env, variant="compare"))
    for names in args.variant:
        wrap = {s: ([str(BENCH / "variant.py")], {}) for s in SCENARIOS}
        tools.append(MonitorTool(args, {**main_env, "BENCH_VARIANT": names}, variant=names, wrap=wrap))
    for n in filter(None, args.per_host_sweep.split(",")):
        tools.append(MonitorTool(args, main_env, variant=f"per_host={int(n)}", per_host=int(n)))
    if args.peer:
        tools.append(UrlwatchTool(peer.ensure_urlwatch(args.python), child_env()))
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
               "load_at_start": os.getloadavg(), "sources": args.sources, "repeat": args.repeat, "gzip": args.gzip,
               "per_host": args.per_host, "src": str(args.src) if args.src else None,
               "compare": str(args.compare) if args.compare else None, "variants": args.variant,
               "per_host_sweep": args.per_host_sweep, "env": args.env,
               "compare_env": args.compare_env, "commit": git_head(), "started": datetime.now().isoformat()}
    launcher = Launcher(args.python)
    imports: dict[str, dict] = {}
    cycles: list[Cycle] = []
    reports: dict[str, list[str]] = {}
    breakdown: dict[str, dict[str, dict[str, float]]] = {}
    probes: dict[str, dict | None] = {}
    try:
        if not (args.no_imports or args.profile_only or args.only_phases):
            for tool in tools:
                if tool.name == "monitor" and tool.variant in ("main", "compare"):
                    imports[tool.variant] = import_overhead(args, launcher, out_dir, tool.env, tool.variant)
        server = Server(args.python, args.sources, args.gzip, out_dir / "server.log")
        try:
            if not (args.profile_only or args.only_phases):
                feeds, pages = content.split(args.sources)
                print(f"{args.sources} sources ({feeds} feeds, {pages} pages) on {server.base_url}; {args.repeat} "
                      f"repetitions of: {', '.join(f'{t.name} ({t.variant})' for t in tools)}, interleaved")
                for rep in range(1, args.repeat + 1):
                    for tool in tools:
                        cycles += run_repetition(tool, rep, launcher, server, out_dir, keep=args.keep,
                                                 importtime=5 if rep == 1 and tool is tools[0] and not args.no_imports
                                                 else 0)
            for tool in tools:
                if args.phases and tool.name == "monitor":  # phases.py applies $BENCH_VARIANT as variant.py does
                    breakdown[tool.variant] = phases(args, launcher, server, out_dir, tool.env, tool.variant,
                                                     args.phases, per_host=tool.per_host)
            if args.profile or args.profile_only:
                reports = profile(args, launcher, server, out_dir, main_env)
            if args.experiments:
                probes["http"] = http_experiments(args, launcher, server, out_dir, main_env)
        finally:
            server.stop()
        if args.scale:
            print(f"{SCALE_SOURCES:,} sources: building the server's bodies ...", flush=True)
            server = Server(args.python, SCALE_SOURCES, args.gzip, out_dir / "server-scale.log")
            try:
                for rep in range(1, args.scale + 1):
                    cycles += run_repetition(tools[0], rep, launcher, server, out_dir, keep=args.keep)
                    if args.scale_peer and args.peer:
                        cycles += run_repetition(tools[-1], rep, launcher, server, out_dir)
                config = out_dir / "scale-watches.yaml"
                write_config(config, server.base_url, SCALE_SOURCES, "sqlite:///unused.db", args.per_host)
                probes["config_memory"] = probe(args, main_env, out_dir, "config-memory", "--config", str(config))
            finally:
                server.stop()
        if args.all:
            probes["diff"] = probe(args, main_env, out_dir, "diff", "--runs", str(args.diff_runs))
    finally:
        launcher.close()

    text = summary_text(args, cycles, imports, breakdown, probes, out_dir)
    summaries = {f"{t}/{v}/{n}": report.summarize([c for c in cycles if (c.tool, c.variant, c.sources) == (t, v, n)])
                 for t, v, n in dict.fromkeys((c.tool, c.variant, c.sources) for c in cycles)}
    (out_dir / "results.json").write_text(json.dumps({
        "machine": {**machine, "load_at_end": os.getloadavg()}, "summary": summaries, "imports": imports,
        "profiles": reports, "phases": breakdown, "probes": probes,
        "cycles": [{**asdict(c), "cpu": c.measure.cpu} for c in cycles]}, indent=2), encoding="utf-8")
    (out_dir / "summary.md").write_text(text + "\n", encoding="utf-8")
    print()
    print(text)
    for scenario, files in reports.items():
        print(f"profile {scenario}: " + ", ".join(files))
    return 0 if all(c.valid for c in cycles) else 1


def summary_text(args: argparse.Namespace, cycles: list[Cycle], imports: dict, breakdown: dict, probes: dict,
                 out_dir: Path) -> str:
    def pick(tool: str, variant: str = "main", sources: int = args.sources) -> dict[str, dict]:
        return report.summarize([c for c in cycles if (c.tool, c.variant, c.sources) == (tool, variant, sources)])

    parts = [f"# Benchmark {datetime.now():%Y-%m-%d %H:%M} ({git_head()}; Python {platform.python_version()}, "
             f"{os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.2f})"]
    mon, uw = pick("monitor"), pick("urlwatch")
    if mon and uw:
        parts.append(f"## {args.sources:,} sources: the monitor and urlwatch {peer.VERSION}, median of {args.repeat}\n\n"
                     + report.side_by_side(mon, uw, args.sources))
    if mon:
        parts.append(f"## {args.sources:,} sources: the monitor\n\n" + report.monitor_table(mon, args.sources))
    if imports.get("main"):
        parts.append(report.startup_table(imports["main"], IMPORTS))
    runs = [p.read_text(encoding="utf-8") for p in sorted(out_dir.glob("importtime-check-*.txt"))]
    if runs:
        found = importtime_medians(runs)
        parts.append(f"`python -X importtime -m monitor check` (an unchanged cycle; median of {len(runs)}), ms in "
                     "each package's own modules: " + ", ".join(f"{n} {ms:.0f}" for n, ms in found["by_package"])
                     + ". Modules with what they import (cumulative): " + ", ".join(
                         f"{n} {ms:.0f}" for n, ms in found["modules_cumulative"][:20]))
    if args.scale:
        big = pick("monitor", sources=SCALE_SOURCES)
        startup = imports.get("main", {}).get("imports", {}).get("cpu", 0.0)
        parts.append(f"## {SCALE_SOURCES:,} sources\n\n" + report.scale_table(
            mon, big, args.sources, SCALE_SOURCES, startup, probes.get("config_memory")))
        uw_big = pick("urlwatch", sources=SCALE_SOURCES)
        if uw_big:
            parts.append(f"urlwatch at {SCALE_SOURCES:,}:\n\n" + report.side_by_side(big, uw_big, SCALE_SOURCES))
    if probes.get("diff"):
        parts.append("## Diff\n\n" + report.diff_table(probes["diff"]))
    for variant in dict.fromkeys(c.variant for c in cycles if c.tool == "monitor" and c.variant != "main"):
        other = pick("monitor", variant)
        what = " ".join(filter(None, [str(args.compare or args.src or ""), " ".join(args.compare_env)])) \
            if variant == "compare" else variant
        parts.append(f"## compare: {what}\n\n" + report.monitor_table(other, args.sources) + "\n\n"
                     + report.comparison(mon, other, "main", variant))
    if probes.get("http"):
        parts.append("## Experiment: the HTTP request path alone (bench/probes.py http)\n\n"
                     + report.http_table(probes["http"]))
    for name, times in breakdown.items():
        parts.append(f"## CPU and wall time by phase ({name}; median of {args.phases}; bench/phases.py)\n\n"
                     + report.phase_table(times["cpu"], times["wall"]))
    bad = [c for c in cycles if not c.valid]
    if bad:
        parts.append("## INVALID cycles (their figures are not to be used)\n\n" + "\n".join(
            f"- {c.tool}/{c.variant} {c.sources} rep {c.repetition} {c.scenario}: {'; '.join(c.problems)}" for c in bad))
    return "\n\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
