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
