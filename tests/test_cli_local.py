"""`segformer-clothes segment --local`, run as a process on a small random-weight SegFormer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes import SegmentationResult

pytestmark = pytest.mark.local


def run_cli(*args: str, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_HUB_OFFLINE"] = "1"
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "segformer_clothes.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from segformer_clothes.testing import save_random_segformer

    return save_random_segformer(tmp_path_factory.mktemp("model"))


def draw_photos(folder: Path, sizes: list[tuple[int, int]]) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, size in enumerate(sizes):
        pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"look_{i}.png")
    return folder


def test_segment_locally_needs_no_token_and_no_server(tmp_path: Path) -> None:
    from segformer_clothes.local import LocalSegmenter
    from segformer_clothes.testing import save_random_segformer

    model = save_random_segformer(tmp_path / "model")
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i, size in enumerate([(40, 56), (64, 48), (33, 33)]):
        pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(photos / f"look_{i}.png")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run(
        [
            sys.executable, "-m", "segformer_clothes.cli", "segment", str(photos),
            "--out", str(tmp_path / "out"), "--local", "--model", str(model),
            "--device", "cpu", "--batch-size", "2", "--overlay", "--json", "-",
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["done"] == 3
    segmenter = LocalSegmenter(model, device="cpu")
    for i in range(3):
        saved = SegmentationResult.load(tmp_path / "out" / "labels" / f"look_{i}.png")
        expected = segmenter.segment(photos / f"look_{i}.png")
        assert np.array_equal(saved.label_map, expected.label_map)
        assert (tmp_path / "out" / "overlays" / f"look_{i}.jpg").exists()


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            # CUDA hidden from torch, so that this holds on a machine with a GPU too.
            ["--device", "cuda"],
            "--device must be 'cpu' or 'auto' on this machine, where torch sees no CUDA GPU, "
            "got cuda",
        ),
        (
            ["--device", "gpu0"],
            "--device must be 'auto', 'cpu', 'cuda', 'cuda:N' or another torch device, got gpu0",
        ),
        (["--dtype", "int8"], "--dtype must be one of 'float32', 'float16', 'bfloat16', got int8"),
    ],
)
def test_a_bad_local_option_is_one_line_before_any_work(
    tmp_path: Path, model: Path, options: list[str], line: str
) -> None:
    photos = draw_photos(tmp_path / "photos", [(40, 56)])
    out = tmp_path / "out"
    done = run_cli(
        "segment", str(photos), "--out", str(out), "--local", "--model", str(model), *options,
        cwd=tmp_path, CUDA_VISIBLE_DEVICES="",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == ["segformer-clothes segment: error: " + line]
    assert not out.exists()


def test_dtype_runs_the_model_in_that_precision(tmp_path: Path, model: Path) -> None:
    from segformer_clothes.local import LocalSegmenter

    photos = draw_photos(tmp_path / "photos", [(40, 56), (64, 48)])
    done = run_cli(
        "segment", str(photos), "--out", str(tmp_path / "out"), "--local", "--model", str(model),
        "--device", "cpu", "--dtype", "bfloat16", "--json", "-",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["done"] == 2
    half = LocalSegmenter(model, device="cpu", dtype="bfloat16")
    full = LocalSegmenter(model, device="cpu")
    differs = False
    for i in range(2):
        saved = SegmentationResult.load(tmp_path / "out" / "labels" / f"look_{i}.png")
        assert np.array_equal(saved.label_map, half.segment(photos / f"look_{i}.png").label_map)
        reference = full.segment(photos / f"look_{i}.png").label_map
        differs = differs or not np.array_equal(saved.label_map, reference)
    # The check above tells the precisions apart only if they give different label maps.
    assert differs


@pytest.mark.parametrize("how", ["--offline", "HF_HUB_OFFLINE"])
def test_missing_weights_offline_fail_at_once_in_the_commands_terms(
    tmp_path: Path, how: str
) -> None:
    photos = draw_photos(tmp_path / "photos", [(20, 30)])
    options = ["--offline"] if how == "--offline" else []
    # The flag alone must do it (the environment says "online" then), and so must the variable.
    env = {"HF_HUB_OFFLINE": "1" if how == "HF_HUB_OFFLINE" else "0"}
    done = run_cli(
        "segment", str(photos), "--out", str(tmp_path / "out"), "--local",
        "--model", "someone/clothes-model-not-here", *options,
        cwd=tmp_path, **env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # no loading bars, no retry lines
    assert "--model clothes-model-not-here" in lines[0]
    assert "LocalSegmenter(" not in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # nothing created before the fatal error


def test_no_model_is_loaded_when_every_photo_is_done(tmp_path: Path, model: Path) -> None:
    photos = draw_photos(tmp_path / "photos", [(20, 30), (24, 24)])
    first = run_cli(
        "segment", str(photos), "--out", str(tmp_path / "out"), "--local", "--model", str(model),
        cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    # The model folder is gone: a rerun with nothing to do must not try to load it.
    again = run_cli(
        "segment", str(photos), "--out", str(tmp_path / "out"), "--local",
        "--model", str(tmp_path / "no-such-model"), "--json", "-",
        cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["skipped"] == 2
