"""COCO RLE and COCO files: exact round trips through pycocotools, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from segformer_clothes import CLOTHES_LABELS, LabelSet
from segformer_clothes.formats.coco import (
    coco_categories,
    decode_annotations,
    decode_rle,
    encode_annotations,
    encode_rle,
    encode_rles,
    write_coco,
)

pytestmark = pytest.mark.analysis


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (64, 48), (3, 200)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_mask_survives_the_round_trip_exactly(shape: tuple[int, int], seed: int) -> None:
    mask = np.random.default_rng(seed).random(shape) < 0.4
    rle = encode_rle(mask)
    assert rle["size"] == list(shape)
    assert isinstance(rle["counts"], str)
    json.dumps(rle)  # ready for JSON
    decoded = decode_rle(rle)
    assert decoded.dtype == bool
    assert np.array_equal(decoded, mask)


def test_encoding_agrees_with_pycocotools_and_reads_its_uncompressed_form() -> None:
    from pycocotools import mask as api

    mask = np.zeros((4, 5), dtype=bool)
    mask[1:3, 1:4] = True
    ours = encode_rle(mask)
    theirs = api.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert ours["counts"] == theirs["counts"].decode("ascii")
    # Column-major runs: 5 off, 2 on, 2 off, 2 on, 2 off, 2 on, 5 off.
    uncompressed = {"size": [4, 5], "counts": [5, 2, 2, 2, 2, 2, 5]}
    assert np.array_equal(decode_rle(uncompressed), mask)
    assert np.array_equal(decode_rle({"size": [4, 5], "counts": theirs["counts"]}), mask)


def test_a_stack_of_masks_is_encoded_mask_by_mask() -> None:
    masks = np.random.default_rng(3).random((9, 11, 4)) < 0.5
    for index, rle in enumerate(encode_rles(masks)):
        assert np.array_equal(decode_rle(rle), masks[:, :, index])


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="a mask is 2-D"):
        encode_rle(np.zeros((2, 2, 2), dtype=bool))
    with pytest.raises(ValueError, match="a COCO RLE is"):
        decode_rle({"counts": "abc"})


def test_a_label_map_survives_annotations_exactly() -> None:
    label_map = np.random.default_rng(4).integers(0, 18, (30, 41)).astype(np.uint8)
    annotations = encode_annotations(label_map, image_id=7, first_id=100)
    assert [a["id"] for a in annotations] == list(range(100, 117))
    assert {a["image_id"] for a in annotations} == {7}
    for annotation in annotations:
        mask = label_map == annotation["category_id"]
        rows, columns = np.nonzero(mask)
        x, y = columns.min(), rows.min()
        assert annotation["bbox"] == [x, y, columns.max() + 1 - x, rows.max() + 1 - y]
        assert annotation["area"] == mask.sum()
        assert annotation["iscrowd"] == 0
    assert np.array_equal(decode_annotations(annotations, (41, 30)), label_map)
    assert encode_annotations(np.zeros((3, 3), dtype=np.uint8)) == []
    with pytest.raises(ValueError, match="a mask of 41x30 in an image of 40x30"):
        decode_annotations(annotations, (40, 30))


def test_categories_are_every_class_but_background() -> None:
    categories = coco_categories()
    assert [c["id"] for c in categories] == list(range(1, 18))
    assert [c["name"] for c in categories] == list(CLOTHES_LABELS.names[1:])
    assert {c["supercategory"] for c in categories} == {"garments", "body"}
    other = coco_categories(LabelSet(("background", "cat")))
    assert other == [{"id": 1, "name": "cat", "supercategory": "none"}]


# pycocotools' own decoder builds its array in a way numpy 2 warns about.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_pycocotools_loads_a_written_file_back(tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    rng = np.random.default_rng(5)
    maps = {
        f"photos/look_{i}.jpg": rng.integers(0, 18, (20 + i, 30)).astype(np.uint8) for i in range(3)
    }
    maps["photos/empty.jpg"] = np.zeros((8, 8), dtype=np.uint8)
    path = tmp_path / "coco.json"
    assert write_coco(path, maps.items()) == 4
    coco = COCO(str(path))
    assert sorted(coco.getCatIds()) == list(range(1, 18))
    assert len(coco.getImgIds()) == 4
    for image in coco.loadImgs(coco.getImgIds()):
        label_map = maps[image["file_name"]]
        assert (image["height"], image["width"]) == label_map.shape
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
        for annotation in annotations:
            expected = label_map == annotation["category_id"]
            assert np.array_equal(coco.annToMask(annotation), expected)
        rebuilt = decode_annotations(annotations, (image["width"], image["height"]))
        assert np.array_equal(rebuilt, label_map)
    ids = [a["id"] for a in json.loads(path.read_text())["annotations"]]
    assert ids == list(range(1, len(ids) + 1))
