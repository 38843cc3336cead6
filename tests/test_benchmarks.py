"""The benchmarks never rot: every ``benchmarks/bench_*.py`` runs in quick mode and returns
well-formed measurements, and ``benchmarks/run.py`` writes its report.

Nothing here is timed: speed is judged in ``benchmarks/RESULTS.md``, not by the test suite.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
if not (BENCHMARKS / "_harness.py").exists():  # an sdist ships the tests without benchmarks/
    pytest.skip("the benchmarks folder is not here", allow_module_level=True)

# Modules that need more than numpy and Pillow carry the matching marker.
MARKS: dict[str, list[pytest.MarkDecorator]] = {
    "bench_alternatives": [pytest.mark.integration],
    "bench_client": [pytest.mark.integration],
    "bench_garments": [pytest.mark.analysis],
    "bench_local": [pytest.mark.local],
    "bench_ray": [pytest.mark.ray],
    "bench_serve": [pytest.mark.local, pytest.mark.serve, pytest.mark.integration],
}
NEEDS: dict[str, tuple[str, ...]] = {
    "bench_alternatives": ("huggingface_hub",),
    "bench_garments": ("sklearn",),
    "bench_local": ("torch", "transformers"),
    "bench_ray": ("torch", "transformers", "ray"),
    "bench_serve": ("torch", "transformers", "starlette", "uvicorn"),
}
MODULES = sorted(path.stem for path in BENCHMARKS.glob("bench_*.py"))


@pytest.fixture
def benchmarks_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.syspath_prepend(str(BENCHMARKS.parent))


def load_run_py() -> Any:
    """``benchmarks/run.py`` under a name no other module can have taken."""
    spec = importlib.util.spec_from_file_location("benchmarks_run", BENCHMARKS / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def check_measurement(measurement: Any) -> None:
    """The contract of `_harness.Measurement`, with finite positive samples everywhere."""
    assert isinstance(measurement.name, str)
    assert measurement.name
    assert isinstance(measurement.unit, str)
    assert measurement.unit
    assert isinstance(measurement.higher_is_better, bool)
    assert isinstance(measurement.target, str)
    assert isinstance(measurement.notes, str)
    series = {"ours": measurement.ours, **measurement.baselines}
    if measurement.floor is not None:
        series["floor"] = measurement.floor
    for who, samples in series.items():
        assert isinstance(who, str)
        assert who
        assert isinstance(samples, list), f"{measurement.name}: {who} is not a list"
        assert samples, f"{measurement.name}: {who} has no sample"
        for value in samples:
            assert isinstance(value, (int, float)), f"{measurement.name}: {who}: {value!r}"
            assert math.isfinite(value), f"{measurement.name}: {who}: {value!r}"
            assert value > 0, f"{measurement.name}: {who}: {value!r} is not positive"


@pytest.mark.parametrize(
    "module_name", [pytest.param(name, marks=MARKS.get(name, [])) for name in MODULES]
)
@pytest.mark.usefixtures("benchmarks_on_path")
def test_quick_run_returns_measurements(module_name: str) -> None:
    for requirement in NEEDS.get(module_name, ()):
        pytest.importorskip(requirement)
    module = importlib.import_module(module_name)
    measurements = module.run(quick=True)
    assert isinstance(measurements, list)
    assert measurements, f"{module_name}.run(quick=True) measured nothing"
    names = [m.name for m in measurements]
    assert len(set(names)) == len(names), f"two measurements share a name: {names}"
    for measurement in measurements:
        check_measurement(measurement)


@pytest.mark.usefixtures("benchmarks_on_path")
def test_decode_parsers_agree_and_answer_is_realistic() -> None:
    bench_decode = importlib.import_module("bench_decode")
    from segformer_clothes import SegmentationResult

    label_map = bench_decode.drawn_label_map(216, 324)
    items = SegmentationResult(label_map).to_response()
    assert 11 <= len(items) <= 14, "the drawn photo should carry about a dozen labels"
    assert (bench_decode.mask_by_mask(items, 216, 324) == label_map).all()
    assert all(mask.shape == (324, 216) for mask in bench_decode.floor_decode(items))


@pytest.mark.usefixtures("benchmarks_on_path")
def test_report_judges_targets_and_shows_every_series() -> None:
    run = load_run_py()
    measurement = {
        "name": "decode",
        "unit": "ms",
        "higher_is_better": False,
        "ours": [10.0, 11.0, 12.0],
        "baselines": {"mask by mask": [20.0, 22.0]},
        "floor": [10.0, 10.0],
        "target": "<= 1.15x the floor (one thread)",
        "notes": "a | note",
    }
    assert run.target_met(measurement) == "yes"
    assert run.target_met({**measurement, "target": ">= 1.5x mask by mask"}) == "**no**"
    assert run.target_met({**measurement, "target": "be quick"}) == ""
    assert run.target_met({**measurement, "target": "<= 12 ms per answer"}) == "yes"
    assert run.target_met({**measurement, "target": ">= 100% of the batch"}) == "**no**"
    assert run.target_met({**measurement, "target": ">= 10 ms, <= 5 answers of 429"}) == ""
    outcome = run.ModuleOutcome("bench_decode", 1.0, [measurement])
    broken = run.ModuleOutcome("bench_other", 1.0, [], "exited with status 1:\nboom")
    text = run.render([outcome, broken], [("CPU count", "2")], quick=False, runs=1, seconds=3.0)
    assert "| CPU count | 2 |" in text
    assert "| **ours** | 11.0 | 1.00 | 3 | 1.00 |" in text
    assert "| floor | 10.0 | 0 | 2 | 1.10 |" in text
    assert "| mask by mask | 21.0 | 1.00 | 2 | 0.52 |" in text
    assert "Notes: a | note" in text
    assert "met: yes" in text
    assert "boom" in text


@pytest.mark.usefixtures("benchmarks_on_path")
def test_only_keeps_the_figures_of_the_modules_it_did_not_run() -> None:
    run = load_run_py()

    def measured(name: str, ours: float) -> dict[str, object]:
        return {"name": name, "unit": "ms", "higher_is_better": False, "ours": [ours],
                "baselines": {"theirs": [2 * ours]}, "target": "", "notes": ""}  # fmt: skip

    def report(*outcomes: object) -> str:
        return run.render(list(outcomes), [("CPU count", "2")], quick=False, runs=1, seconds=1)

    earlier = report(
        run.ModuleOutcome("bench_alpha", 1.0, [measured("a one", 1.0), measured("a two", 2.0)]),
        run.ModuleOutcome("bench_beta", 1.0, [measured("b old", 3.0)]),
        run.ModuleOutcome("bench_gamma", 1.0, [measured("c", 4.0)]),
    ).replace("## bench_gamma\n", "## bench_gamma\n\nRun on its own on some day.\n")
    now = report(run.ModuleOutcome("bench_beta", 1.0, [measured("b new", 5.0)]))
    merged = run.keep_others(now, earlier)
    summary = [line.split(" | ")[:2] for line in merged.splitlines() if line.startswith("| bench_")]
    assert summary == [
        ["| bench_alpha", "a one"], ["| bench_alpha", "a two"],
        ["| bench_beta", "b new"], ["| bench_gamma", "c"],
    ]  # fmt: skip
    sections = [line for line in merged.splitlines() if line.startswith("## bench_")]
    assert sections == ["## bench_alpha", "## bench_beta", "## bench_gamma"]
    assert "### b old" not in merged
    assert "### b new" in merged
    commit = re.search(r"commit `([^`]*)`", earlier)[1]  # type: ignore[index]
    alpha = merged[merged.index("## bench_alpha") : merged.index("## bench_beta")]
    assert f"commit `{commit}`" in alpha
    assert "Kept from the report of" in alpha
    gamma = merged[merged.index("## bench_gamma") :]
    assert "Run on its own on some day." in gamma
    assert "Kept from" not in gamma
    assert "(full run of bench_beta; the other modules are kept from before)" in merged


@pytest.mark.usefixtures("benchmarks_on_path")
def test_runs_of_a_module_are_pooled() -> None:
    run = load_run_py()

    def one(samples: list[float]) -> Any:
        return run.ModuleOutcome(
            "bench_x",
            1.0,
            [
                {
                    "name": "m",
                    "unit": "ms",
                    "higher_is_better": False,
                    "ours": samples,
                    "baselines": {"b": samples},
                    "floor": None,
                    "target": "",
                    "notes": "",
                }
            ],
        )

    pooled = run.pool_runs([one([1.0]), one([2.0, 3.0])])
    assert pooled.seconds == 2.0
    assert pooled.measurements[0]["ours"] == [1.0, 2.0, 3.0]
    assert pooled.measurements[0]["baselines"]["b"] == [1.0, 2.0, 3.0]


@pytest.mark.integration
def test_run_py_writes_results_for_one_module(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    command = [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--only", "decode"]
    done = subprocess.run(
        [*command, "--output", str(output)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    text = output.read_text(encoding="utf-8")
    assert "## Machine" in text
    assert "CPU count" in text
    assert "numpy" in text
    assert "## bench_decode" in text
    assert "mask by mask (decode, resize, write each)" in text
