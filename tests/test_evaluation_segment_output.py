"""`segformer-clothes segment` then `evaluate` on its output folder as is, photos in
subfolders, against FakeInferenceServer on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes.testing import FakeInferenceServer, pixel_labels

pytestmark = pytest.mark.integration


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env["HF_HOME"] = "/nonexistent-hf-home"  # no token: only the local server answers
    return subprocess.run(
        [sys.executable, "-m", "segformer_clothes.cli", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def draw_photo(path: Path, seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 200, size=(56, 40, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def test_evaluate_scores_the_output_folder_of_segment_as_is(tmp_path: Path) -> None:
    photos, out, annotations = tmp_path / "photos", tmp_path / "out", tmp_path / "annotations"
    names = ["look", "summer/look", "summer/beach/look_2", "winter/coat"]
    for seed, name in enumerate(names):
        draw_photo(photos / f"{name}.png", seed)
    with FakeInferenceServer() as server:
        done = run_cli("segment", photos, "--out", out, "--endpoint-url", server.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # The annotations of all but one photo, in the same subfolders, as the server labels them.
    for name in names[:-1]:
        with Image.open(photos / f"{name}.png") as picture:
            target = Image.fromarray(pixel_labels(picture))
        (annotations / name).parent.mkdir(parents=True, exist_ok=True)
        target.save(annotations / f"{name}.png")
    report = run_cli("evaluate", out, annotations, "--json", "-", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    scores = json.loads(report.stdout)
    assert sorted(image["name"] for image in scores["per_image"]) == sorted(names[:-1])
    assert scores["pixel_accuracy"] == pytest.approx(1.0)
    [unmatched] = scores["pairing"]["unmatched_predictions"]
    assert Path(unmatched).relative_to(out / "labels").as_posix() == "winter/coat.png"
    # With --json -, the table goes to stderr, after the one warning line.
    warnings = [line for line in report.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "segformer-clothes evaluate: warning: 1 prediction has no annotation; "
        "see --json or run with -v"
    ]
