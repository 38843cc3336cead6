"""`segformer_clothes.formats.label_map_png`: label maps to PNG files and back, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from segformer_clothes.formats import (
    PNG_METADATA_KEY,
    LabelMapPNG,
    read_label_map_png,
    write_label_map_png,
)
from segformer_clothes.labels import CLOTHES_LABELS, LabelSet

PETS = LabelSet(("background", "cat", "dog"), groups={"pets": (1, 2)}, palette=[(1, 2, 3)])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    arrays(
        np.uint8,
        st.tuples(st.integers(1, 30), st.integers(1, 30)),
        elements=st.integers(0, 17),
    ),
    st.sampled_from([None, "look.jpg", Path("photos/look.jpg")]),
)
def test_write_then_read_is_exact(tmp_path, label_map, source):
    path = write_label_map_png(tmp_path / "labels.png", label_map, source=source)
    assert path == tmp_path / "labels.png"
    stored = read_label_map_png(path)
    assert np.array_equal(stored.label_map, label_map)
    assert stored.label_map.dtype == np.uint8
    assert stored.labels is CLOTHES_LABELS
    assert stored.source == source
    assert type(stored.source) is type(source)
    assert stored == LabelMapPNG(label_map, CLOTHES_LABELS, source)


def test_other_label_sets_keep_their_groups_and_palette(tmp_path):
    label_map = np.array([[0, 1], [2, 2]], dtype=np.uint8)
    stored = read_label_map_png(write_label_map_png(tmp_path / "p.png", label_map, labels=PETS))
    assert stored.labels == PETS
    assert stored.labels.ids("pets") == (1, 2)
    assert np.array_equal(stored.label_map, label_map)


def test_the_file_is_a_palette_png_of_class_ids_with_the_labels_as_json(tmp_path):
    label_map = np.array([[0, 4, 6]], dtype=np.uint8)
    path = write_label_map_png(tmp_path / "a.png", label_map, source=Path("look.jpg"))
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        assert picture.mode == "P"
        assert np.array_equal(np.asarray(picture), label_map)
        assert picture.convert("RGB").getpixel((1, 0)) == CLOTHES_LABELS.color(4)
        meta = json.loads(picture.info[PNG_METADATA_KEY])
    assert meta["labels"] == list(CLOTHES_LABELS.names)
    assert (meta["source"], meta["source_type"]) == ("look.jpg", "path")


def test_other_sources_are_saved_as_text(tmp_path):
    path = write_label_map_png(tmp_path / "a.png", np.zeros((1, 1), np.uint8), source=42)
    assert read_label_map_png(path).source == "42"


def test_a_plain_png_of_class_ids_reads_as_clothes_labels(tmp_path):
    Image.fromarray(np.array([[0, 9, 10]], dtype=np.uint8)).save(tmp_path / "plain.png")
    stored = read_label_map_png(tmp_path / "plain.png")
    assert stored.labels is CLOTHES_LABELS
    assert stored.source is None
    assert stored.label_map.tolist() == [[0, 9, 10]]


def test_an_rgb_png_is_not_a_label_map(tmp_path):
    Image.new("RGB", (2, 2)).save(tmp_path / "photo.png")
    with pytest.raises(ValueError, match="is a RGB image, not a label map"):
        read_label_map_png(tmp_path / "photo.png")


@pytest.mark.parametrize(
    ("label_map", "match"),
    [
        (np.zeros((2, 2, 3), np.uint8), "2-D"),
        (np.zeros((2, 2), bool), "integer class ids"),
        (np.full((2, 2), 3, np.uint8), "only 3 classes"),
    ],
)
def test_label_maps_that_cannot_be_written_are_refused(tmp_path, label_map, match):
    with pytest.raises(ValueError, match=match):
        write_label_map_png(tmp_path / "bad.png", label_map, labels=PETS)
    assert not (tmp_path / "bad.png").exists()
