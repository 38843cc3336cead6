"""Run every ``benchmarks/bench_*.py`` and write ``benchmarks/RESULTS.md``.

Usage::

    python benchmarks/run.py                 # everything, full size (what `nox -s bench` runs)
    python benchmarks/run.py --quick         # the same code on tiny inputs, a few seconds
    python benchmarks/run.py --only decode --only evaluation --runs 3

Each module runs in a fresh Python process (so that one module's memory, threads or servers do
not colour another's figures, and a crash is reported rather than stopping the run), ``--runs``
times; its samples are pooled and reported as median and spread beside every baseline and
floor, with the ratio ours ÷ theirs. The file starts with the machine: CPU, cores, load,
Python and the versions of the libraries measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIBRARIES = (
    "segformer-clothes",
    "numpy",
    "pillow",
    "httpx",
    "anyio",
    "tenacity",
    "huggingface_hub",
    "torch",
    "transformers",
    "matplotlib",
    "ray",
    "scipy",
    "scikit-image",
    "pycocotools",
    "pyarrow",
    "scikit-learn",
)
RATIO_NOTE = (
    "Ratio = our median ÷ theirs. For times and memory (lower is better) below 1 means ours "
    "takes less; for rates (higher is better) above 1 means ours does more."
)


@dataclasses.dataclass
class ModuleOutcome:
    """What one benchmark module gave: its measurements, or why it gave none."""

    name: str
    seconds: float
    measurements: list[dict[str, Any]]
    error: str = ""


# ---------------------------------------------------------------------- running


def discover(only: Sequence[str] = ()) -> list[Path]:
    """The benchmark modules, sorted; ``only`` keeps those whose topic (or file name) is listed."""
    modules = sorted(HERE.glob("bench_*.py"))
    if only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
        modules = [m for m in modules if m.stem.removeprefix("bench_") in wanted]
    return modules


def _worker(module_path: str, quick: bool, output: str) -> None:
    """Child process: import one module, call ``run(quick)``, write its measurements as JSON."""
    for folder in (str(HERE), str(ROOT)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    module = importlib.import_module(Path(module_path).stem)
    measurements = module.run(quick=quick)
    Path(output).write_text(json.dumps([dataclasses.asdict(m) for m in measurements]))


def run_module(path: Path, quick: bool, timeout: float) -> ModuleOutcome:
    """Run one module in a fresh process and collect what it measured."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "measurements.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(path)]
        command += ["--output", str(output)] + (["--quick"] if quick else [])
        try:
            finished = subprocess.run(
                command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return ModuleOutcome(
                path.stem, time.perf_counter() - start, [], f"gave no answer in {timeout:.0f} s"
            )
        seconds = time.perf_counter() - start
        if finished.returncode != 0 or not output.exists():
            tail = "\n".join(finished.stderr.strip().splitlines()[-15:])
            return ModuleOutcome(
                path.stem, seconds, [], f"exited with status {finished.returncode}:\n{tail}"
            )
        return ModuleOutcome(path.stem, seconds, json.loads(output.read_text()))


def pool_runs(outcomes: list[ModuleOutcome]) -> ModuleOutcome:
    """One outcome from several runs of a module: the samples of same-named measurements are
    pooled; any failure is kept."""
    first = outcomes[0]
    pooled: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        for measurement in outcome.measurements:
            known = pooled.get(measurement["name"])
            if known is None:
                pooled[measurement["name"]] = json.loads(json.dumps(measurement))
                continue
            known["ours"] += measurement["ours"]
            for baseline, samples in measurement["baselines"].items():
                known["baselines"].setdefault(baseline, []).extend(samples)
            if measurement["floor"]:
                known["floor"] = (known["floor"] or []) + measurement["floor"]
    errors = [o.error for o in outcomes if o.error]
    return ModuleOutcome(
        first.name,
        sum(o.seconds for o in outcomes),
        list(pooled.values()),
        "\n".join(errors),
    )


# ---------------------------------------------------------------------- the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu() -> str:
    """The CUDA GPU torch sees (the modules measure one when it does), or why none is named."""
    if importlib.util.find_spec("torch") is None:
        return "not looked for: torch is not installed"
    import torch

    if not torch.cuda.is_available():
        return "none: torch sees no CUDA GPU, so no GPU figure was measured"
    return torch.cuda.get_device_name(0)


def machine_facts() -> list[tuple[str, str]]:
    """(what, value) pairs describing where the figures were taken."""
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    facts = [
        ("CPU", _cpu_model()),
        ("CPU count", f"{cores} logical ({usable} usable by this process)"),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
    ]
    if hasattr(os, "getloadavg"):
        facts.append(("Load average at start", " / ".join(f"{x:.2f}" for x in os.getloadavg())))
    facts.append(("GPU", _gpu()))
    for name in LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        facts.append((name, version))
    return facts


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


# ---------------------------------------------------------------------- the report


def number(value: float) -> str:
    """A figure with as many digits as a reader can use."""
    if value != value:  # NaN
        return "n/a"
    size = abs(value)
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def _spread(samples: Sequence[float]) -> float:
    return (max(samples) - min(samples)) / 2 if samples else float("nan")


def _ratio(ours: Sequence[float], theirs: Sequence[float]) -> float:
    other = _median(theirs)
    return _median(ours) / other if other else float("nan")


_RELATIVE = re.compile(r"^\s*(<=|>=|≤|≥)\s*([0-9.]+)\s*x\s+([^,;(]+?)\s*([,;(]|$)")
_ABSOLUTE = re.compile(r"^\s*(<=|>=|≤|≥)\s*([0-9.]+)\s*%?(?!\s*x)[^,;]*$")


def target_met(measurement: dict[str, Any]) -> str:
    """Judge the target when it reads as one of:

    - ``<= 1.15x the floor`` or ``>= 1.5x <baseline>`` (a baseline's name, or words of it):
      the ratio of our median to theirs;
    - ``>= 0.90 of the allowed rate``, ``>= 100% of the batch``: our median itself, in the
      measurement's unit (one clause only: a target with a comma is for the reader).

    Returns "yes", "**no**", or "" when the target cannot be read that way.
    """
    target = measurement.get("target") or ""
    ours = measurement["ours"]
    relative = _RELATIVE.match(target)
    absolute = _ABSOLUTE.match(target)
    if relative:
        sign, factor = relative.group(1), float(relative.group(2))
        against = relative.group(3).lower().removeprefix("the ")
        if against == "floor":
            samples = measurement.get("floor")
        else:
            samples = next(
                (s for name, s in measurement["baselines"].items() if against in name.lower()),
                None,
            )
        if not samples:
            return ""
        value = _ratio(ours, samples)
    elif absolute:
        sign, factor, value = absolute.group(1), float(absolute.group(2)), _median(ours)
    else:
        return ""
    met = value <= factor if sign in ("<=", "≤") else value >= factor
    return "yes" if met else "**no**"


def _rows(measurement: dict[str, Any]) -> list[tuple[str, list[float]]]:
    rows = [("**ours**", measurement["ours"])]
    if measurement.get("floor"):
        rows.append(("floor", measurement["floor"]))
    rows += list(measurement["baselines"].items())
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(
    outcomes: list[ModuleOutcome],
    facts: list[tuple[str, str]],
    *,
    quick: bool,
    runs: int,
    seconds: float,
) -> str:
    """The Markdown of RESULTS.md."""
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "--quick: tiny inputs, not figures to quote or judge" if quick else "full run"

    def judge(measurement: dict[str, Any]) -> str:
        return "" if quick else target_met(measurement)

    lines = [
        "# Benchmark results",
        "",
        f"Written by `python benchmarks/run.py` ({mode}) on {today}, commit `{_git_commit()}`, "
        f"in {seconds / 60:.1f} min; each module ran {runs} time(s) in a fresh process. "
        "How to read and rerun: [README.md](README.md).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {what} | {_cell(value)} |" for what, value in facts),
        "",
        "## Summary",
        "",
        RATIO_NOTE,
        "",
        "| module | benchmark | unit | ours (median) | ours ÷ floor | ours ÷ each baseline "
        "| target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        if outcome.error:
            lines.append(f"| {outcome.name} | | | **failed** (see below) | | | | |")
        for m in outcome.measurements:
            floor = number(_ratio(m["ours"], m["floor"])) if m.get("floor") else ""
            versus = "; ".join(
                f"{number(_ratio(m['ours'], s))} ({_cell(name)})"
                for name, s in m["baselines"].items()
            )
            lines.append(
                f"| {outcome.name} | {_cell(m['name'])} | {m['unit']} "
                f"| {number(_median(m['ours']))} | {floor} "
                f"| {versus} | {_cell(m.get('target', ''))} | {judge(m)} |"
            )
    for outcome in outcomes:
        lines += ["", f"## {outcome.name}", "", f"Ran in {outcome.seconds:.0f} s."]
        if outcome.error:
            lines += ["", "**Failed**:", "", "```", outcome.error, "```"]
        for m in outcome.measurements:
            better = "higher is better" if m["higher_is_better"] else "lower is better"
            lines += [
                "",
                f"### {m['name']}",
                "",
                f"Unit: {m['unit']} ({better}).",
                "",
                "| | median | spread (±) | samples | ours ÷ this |",
                "|---|---|---|---|---|",
            ]
            for who, samples in _rows(m):
                lines.append(
                    f"| {_cell(who)} | {number(_median(samples))} | {number(_spread(samples))} "
                    f"| {len(samples)} | {number(_ratio(m['ours'], samples))} |"
                )
            if m.get("target"):
                met = judge(m)
                lines += ["", f"Target: {m['target']}" + (f" - met: {met}." if met else "")]
            if m.get("notes"):
                lines += ["", f"Notes: {m['notes']}"]
    return "\n".join(lines) + "\n"


_SECTION = re.compile(r"^## (bench_\w+)\n.*?(?=^## |\Z)", re.M | re.S)


def _module_of(line: str) -> str:
    """The module of a summary row (``| bench_decode | ...``); "" for any other line."""
    return line.split(" |")[0][2:] if line.startswith("| bench_") else ""


def keep_others(report: str, earlier: str) -> str:
    """``report`` with the modules it did not run taken from ``earlier`` (an older RESULTS.md):
    their summary rows and sections, each section saying which run it comes from.

    What `--only` writes: rerunning one module never loses the figures of the others.
    """
    written = re.search(r"^Written by .*? on (.+? UTC), commit `([^`]*)`", earlier, re.M)
    origin = f"{written[1]}, commit `{written[2]}`" if written else "an earlier run"
    sections = {match[1]: match[0].rstrip("\n") for match in _SECTION.finditer(report)}
    ran = sorted(sections)
    for match in _SECTION.finditer(earlier):
        if match[1] not in sections:
            heading, _, body = match[0].rstrip("\n").partition("\n")
            if not re.search(r"^(Run on|Kept from) ", body, re.M):  # says where it comes from
                body = f"\nKept from the report of {origin} (not rerun).\n{body}"
            sections[match[1]] = f"{heading}\n{body}"
    head = report.split("\n\n## bench_", 1)[0].split("\n")
    rows = [line for line in head if _module_of(line)]
    rows += [line for line in earlier.splitlines() if _module_of(line) not in {"", *ran}]
    rows.sort(key=_module_of)  # stable: the rows of a module keep their order
    lines = [line for line in head if not _module_of(line)] + rows
    only = f"(full run of {', '.join(ran)}; the other modules are kept from before)"
    lines = [
        line.replace("(full run)", only) if line.startswith("Written by") else line
        for line in lines
    ]
    return "\n".join([*lines, "", "\n\n".join(sections[name] for name in sorted(sections))]) + "\n"


# ---------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny inputs, a few seconds each")
    parser.add_argument("--runs", type=int, default=1, help="fresh-process runs per module")
    parser.add_argument(
        "--only", action="append", default=[], help="a topic to run (decode, client, ...)"
    )
    parser.add_argument(
        "--output", type=Path, default=HERE / "RESULTS.md", help="where to write the report"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per module run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.quick, str(args.output))
        return 0
    modules = discover(args.only)
    if not modules:
        parser.error(f"no benchmark module matches {args.only}")
    facts = machine_facts()
    start = time.perf_counter()
    outcomes = []
    for path in modules:
        print(f"{path.stem}: ", end="", flush=True)
        outcome = pool_runs([run_module(path, args.quick, args.timeout) for _ in range(args.runs)])
        print(f"{'FAILED' if outcome.error else 'done'} in {outcome.seconds:.0f} s", flush=True)
        outcomes.append(outcome)
    report = render(
        outcomes, facts, quick=args.quick, runs=args.runs, seconds=time.perf_counter() - start
    )
    if args.only and not args.quick and args.output.is_file():
        earlier = args.output.read_text(encoding="utf-8")
        report = keep_others(report, earlier)
    args.output.write_text(report, encoding="utf-8")
    print(f"wrote {args.output}")
    failed = [o.name for o in outcomes if o.error]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        for outcome in outcomes:
            if outcome.error:
                print(f"--- {outcome.name}\n{outcome.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
