"""`save_random_segformer`: a random-weight SegFormer written as a real model folder is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes.testing import (
    B3_SEGFORMER_SIZES,
    TINY_SEGFORMER_SIZES,
    save_random_segformer,
)

pytestmark = pytest.mark.local


def test_the_folder_holds_a_config_weights_and_an_image_processor(tmp_path: Path) -> None:
    folder = save_random_segformer(tmp_path / "new" / "model", image_size=48)
    assert folder == tmp_path / "new" / "model"
    config = json.loads((folder / "config.json").read_text())
    for name, values in TINY_SEGFORMER_SIZES.items():
        assert config[name] == list(values)
    assert config["decoder_hidden_size"] == 32
    assert config["id2label"]["4"] == "Upper-clothes"
    assert len(config["id2label"]) == 18
    assert any(path.suffix == ".safetensors" for path in folder.iterdir())
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    assert processor["size"] == {"height": 48, "width": 48}


def test_the_same_seed_gives_the_same_model_and_another_seed_another(tmp_path: Path) -> None:
    from segformer_clothes.local import LocalSegmenter

    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), np.uint8))
    label_maps = [
        LocalSegmenter(save_random_segformer(tmp_path / name, seed=seed), device="cpu")
        .segment(photo)
        .label_map
        for name, seed in (("a", 0), ("b", 0), ("c", 1))
    ]
    assert label_maps[0].shape == (40, 30)
    assert np.array_equal(label_maps[0], label_maps[1])
    assert not np.array_equal(label_maps[0], label_maps[2])


def test_other_labels_become_the_models_labels(tmp_path: Path) -> None:
    from segformer_clothes.local import LocalSegmenter

    folder = save_random_segformer(tmp_path / "roads", labels=("road", "car", "tree"))
    result = LocalSegmenter(folder, device="cpu").segment(Image.new("RGB", (16, 16), "grey"))
    assert result.labels.names == ("road", "car", "tree")


def test_the_size_presets_are_read_only_and_b3_is_the_clothes_models_encoder() -> None:
    assert B3_SEGFORMER_SIZES["hidden_sizes"] == (64, 128, 320, 512)
    assert B3_SEGFORMER_SIZES["depths"] == (3, 4, 18, 3)
    with pytest.raises(TypeError):
        TINY_SEGFORMER_SIZES["depths"] = (2, 2, 2, 2)  # type: ignore[index]
