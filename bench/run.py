"""Benchmark: `monitor check` over 1,000 (and 10,000) watches on a local server, beside urlwatch 2.29.

    .venv/bin/python bench/run.py --all                # everything issue 16 asks for, in one run (≈ 10 min)
    .venv/bin/python bench/run.py                      # the monitor's three cycles, 3 repetitions, medians
    .venv/bin/python bench/run.py --peer               # ... with urlwatch 2.29 on the same sources, interleaved
    .venv/bin/python bench/run.py --phases 1           # also CPU time by phase (bench/phases.py)
    .venv/bin/python bench/run.py --profile            # also profile each cycle (cProfile; pyinstrument if installed)
    .venv/bin/python bench/run.py --compare /tmp/copy  # A/B against a scratch copy of the core (see README.md)
    .venv/bin/python bench/run.py --variant httpx      # A/B: the same code with a candidate speed-up (bench/variant.py)

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
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import content
import peer
import report
from breakdown import IMPORTS, http_experiments, import_overhead, importtime_medians, phases, probe, profile
from cycles import Cycle, MonitorTool, UrlwatchTool, run_repetition, write_config
from harness import BENCH, Launcher, Server, child_env, git_head, variant_env
from report import SCENARIOS

SCALE_SOURCES = 10_000


# ------------------------------------------------------------------ main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Benchmark `monitor check` over many watches on a local server.")
    parser.add_argument(
        "--all",
        action="store_true",
        help="everything: 1,000 sources beside urlwatch, 10,000 "
        "sources, config memory, the 10,000-entry diff; one summary",
    )
    parser.add_argument("--sources", type=int, default=1000, help="number of watches: half feeds, half pages (1000)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="repetitions of the three cycles; the median is reported (3)"
    )
    parser.add_argument(
        "--peer",
        action="store_true",
        help="also run urlwatch 2.29 on the same sources "
        "(installed into bench/.venv-urlwatch on first use), repetitions interleaved",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="N",
        help=f"also run N repetitions over {SCALE_SOURCES:,} sources (--all: 1)",
    )
    parser.add_argument("--scale-peer", action="store_true", help="with --scale: urlwatch at that size too (slow)")
    parser.add_argument("--diff-runs", type=int, default=21, help="runs of the 10,000-entry diff probe (21)")
    parser.add_argument(
        "--profile", action="store_true", help="also profile each scenario (one more repetition per profiler)"
    )
    parser.add_argument("--profile-only", action="store_true", help="profile, without the timed repetitions")
    parser.add_argument(
        "--phases",
        type=int,
        default=0,
        metavar="N",
        help="also run N repetitions through bench/phases.py: CPU time by phase, no profiler",
    )
    parser.add_argument("--only-phases", action="store_true", help="with --phases: skip the timed repetitions")
    parser.add_argument("--gzip", action="store_true", help="the server sends gzip bodies (as most real sites do)")
    parser.add_argument(
        "--per-host",
        type=int,
        default=None,
        help="set http.per_host in the monitor's config "
        "(default: the monitor's own default; every source here is on one host)",
    )
    parser.add_argument("--no-imports", action="store_true", help="skip the import-overhead measurement")
    parser.add_argument("--keep", action="store_true", help="keep each repetition's state database and config")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the monitor installed (this one)")
    parser.add_argument(
        "--src",
        type=Path,
        default=None,
        help="run the monitor's code from this copy of the "
        "repository (put first on PYTHONPATH): to measure a change to the core in a scratch copy",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="SRC",
        help="also run the monitor from this scratch copy, repetitions interleaved, and compare",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAMES",
        help="also run the same code through bench/variant.py with these candidate speed-ups "
        "(comma-separated: httpx, aiohttp, uvloop, checkpoint; repeatable, one variant each), interleaved, and compare",
    )
    parser.add_argument(
        "--per-host-sweep",
        default="",
        metavar="N,N,...",
        help="also run the monitor with http.per_host set to each of these, interleaved, and compare",
    )
    parser.add_argument(
        "--experiments",
        action="store_true",
        help="also measure the HTTP request path alone (bench/probes.py http: httpx or httpx-aiohttp "
        "transport, asyncio or uvloop) and the import cost of each",
    )
    parser.add_argument("--experiment-repeat", type=int, default=5, help="repetitions of each HTTP probe (5)")
    parser.add_argument(
        "--compare-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the compare variant only (repeatable; alone, it compares "
        "the same code with and without it)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the measured processes (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=None, help="results directory (default bench/results/<timestamp>)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.python = os.path.abspath(args.python)  # the launcher changes directory before it spawns
    if args.all:
        args.peer = True
        args.scale = args.scale or 1
    out_dir = args.out or BENCH / "results" / datetime.now().astimezone().strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"results in {out_dir}")
    main_env = child_env(variant_env(args.src, args.env))
    tools: list[MonitorTool | UrlwatchTool] = [MonitorTool(args, main_env)]
    if args.compare or args.compare_env:
        env = child_env(variant_env(args.compare or args.src, args.env + args.compare_env))
        tools.append(MonitorTool(args, env, variant="compare"))
    for names in args.variant:
        wrap: dict[str, tuple[list[str], dict[str, str]]] = {s: ([str(BENCH / "variant.py")], {}) for s in SCENARIOS}
        tools.append(MonitorTool(args, {**main_env, "BENCH_VARIANT": names}, variant=names, wrap=wrap))
    for n in filter(None, args.per_host_sweep.split(",")):
        tools.append(MonitorTool(args, main_env, variant=f"per_host={int(n)}", per_host=int(n)))
    if args.peer:
        tools.append(UrlwatchTool(peer.ensure_urlwatch(args.python), child_env()))
    machine = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_at_start": os.getloadavg(),
        "sources": args.sources,
        "repeat": args.repeat,
        "gzip": args.gzip,
        "per_host": args.per_host,
        "src": str(args.src) if args.src else None,
        "compare": str(args.compare) if args.compare else None,
        "variants": args.variant,
        "per_host_sweep": args.per_host_sweep,
        "env": args.env,
        "compare_env": args.compare_env,
        "commit": git_head(),
        "started": datetime.now().astimezone().isoformat(),
    }
    launcher = Launcher(args.python)
    imports: dict[str, dict] = {}
    cycles: list[Cycle] = []
    reports: dict[str, list[str]] = {}
    breakdown: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
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
                print(
                    f"{args.sources} sources ({feeds} feeds, {pages} pages) on {server.base_url}; {args.repeat} "
                    f"repetitions of: {', '.join(f'{t.name} ({t.variant})' for t in tools)}, interleaved"
                )
                for rep in range(1, args.repeat + 1):
                    for tool in tools:
                        cycles += run_repetition(
                            tool,
                            rep,
                            launcher,
                            server,
                            out_dir,
                            keep=args.keep,
                            importtime=5 if rep == 1 and tool is tools[0] and not args.no_imports else 0,
                        )
            for tool in tools:
                if args.phases and tool.name == "monitor":  # phases.py applies $BENCH_VARIANT as variant.py does
                    breakdown[tool.variant] = phases(
                        args, launcher, server, out_dir, tool.env, tool.variant, args.phases, per_host=tool.per_host
                    )
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
    summaries = {
        f"{t}/{v}/{n}": report.summarize([c for c in cycles if (c.tool, c.variant, c.sources) == (t, v, n)])
        for t, v, n in dict.fromkeys((c.tool, c.variant, c.sources) for c in cycles)
    }
    (out_dir / "results.json").write_text(
        json.dumps(
            {
                "machine": {**machine, "load_at_end": os.getloadavg()},
                "summary": summaries,
                "imports": imports,
                "profiles": reports,
                "phases": breakdown,
                "probes": probes,
                "cycles": [{**asdict(c), "cpu": c.measure.cpu} for c in cycles],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    (out_dir / "summary.md").write_text(text + "\n", encoding="utf-8")
    print()
    print(text)
    for scenario, files in reports.items():
        print(f"profile {scenario}: " + ", ".join(files))
    return 0 if all(c.valid for c in cycles) else 1


def summary_text(
    args: argparse.Namespace, cycles: list[Cycle], imports: dict, breakdown: dict, probes: dict, out_dir: Path
) -> str:
    def pick(tool: str, variant: str = "main", sources: int = args.sources) -> dict[str, dict]:
        return report.summarize([c for c in cycles if (c.tool, c.variant, c.sources) == (tool, variant, sources)])

    parts = [
        f"# Benchmark {datetime.now().astimezone():%Y-%m-%d %H:%M} ({git_head()}; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.2f})"
    ]
    mon, uw = pick("monitor"), pick("urlwatch")
    if mon and uw:
        parts.append(
            f"## {args.sources:,} sources: the monitor and urlwatch {peer.VERSION}, median of {args.repeat}\n\n"
            + report.side_by_side(mon, uw, args.sources)
        )
    if mon:
        parts.append(f"## {args.sources:,} sources: the monitor\n\n" + report.monitor_table(mon, args.sources))
    if imports.get("main"):
        parts.append(report.startup_table(imports["main"], IMPORTS))
    runs = [p.read_text(encoding="utf-8") for p in sorted(out_dir.glob("importtime-check-*.txt"))]
    if runs:
        found = importtime_medians(runs)
        parts.append(
            f"`python -X importtime -m monitor check` (an unchanged cycle; median of {len(runs)}), ms in "
            "each package's own modules: "
            + ", ".join(f"{n} {ms:.0f}" for n, ms in found["by_package"])
            + ". Modules with what they import (cumulative): "
            + ", ".join(f"{n} {ms:.0f}" for n, ms in found["modules_cumulative"][:20])
        )
    if args.scale:
        big = pick("monitor", sources=SCALE_SOURCES)
        startup = imports.get("main", {}).get("imports", {}).get("cpu", 0.0)
        parts.append(
            f"## {SCALE_SOURCES:,} sources\n\n"
            + report.scale_table(mon, big, args.sources, SCALE_SOURCES, startup, probes.get("config_memory"))
        )
        uw_big = pick("urlwatch", sources=SCALE_SOURCES)
        if uw_big:
            parts.append(f"urlwatch at {SCALE_SOURCES:,}:\n\n" + report.side_by_side(big, uw_big, SCALE_SOURCES))
    if probes.get("diff"):
        parts.append("## Diff\n\n" + report.diff_table(probes["diff"]))
    for variant in dict.fromkeys(c.variant for c in cycles if c.tool == "monitor" and c.variant != "main"):
        other = pick("monitor", variant)
        what = (
            " ".join(filter(None, [str(args.compare or args.src or ""), " ".join(args.compare_env)]))
            if variant == "compare"
            else variant
        )
        parts.append(
            f"## compare: {what}\n\n"
            + report.monitor_table(other, args.sources)
            + "\n\n"
            + report.comparison(mon, other, "main", variant)
        )
    if probes.get("http"):
        parts.append(
            "## Experiment: the HTTP request path alone (bench/probes.py http)\n\n" + report.http_table(probes["http"])
        )
    for name, times in breakdown.items():
        parts.append(
            f"## CPU and wall time by phase ({name}; median of {args.phases}; bench/phases.py)\n\n"
            + report.phase_table(times["cpu"], times["wall"])
        )
    bad = [c for c in cycles if not c.valid]
    if bad:
        parts.append(
            "## INVALID cycles (their figures are not to be used)\n\n"
            + "\n".join(
                f"- {c.tool}/{c.variant} {c.sources} rep {c.repetition} {c.scenario}: {'; '.join(c.problems)}"
                for c in bad
            )
        )
    return "\n\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
