"""`segformer_clothes.formats.answer`: label maps to API answers and back, exactly."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from segformer_clothes.errors import ResponseFormatError
from segformer_clothes.formats import decode_answer, encode_answer
from segformer_clothes.labels import CLOTHES_LABELS, LabelSet

PETS = LabelSet(("background", "cat", "dog"))


def label_maps(classes: int) -> st.SearchStrategy[np.ndarray]:
    shapes = st.tuples(st.integers(1, 24), st.integers(1, 24))
    return arrays(np.uint8, shapes, elements=st.integers(0, classes - 1))


@settings(max_examples=60, deadline=None)
@given(label_maps(18), st.sampled_from([0, 1, 6, 9]))
def test_label_map_to_answer_and_back_is_exact(label_map, compress_level):
    answer = encode_answer(label_map, compress_level=compress_level)
    assert np.array_equal(decode_answer(answer), label_map)
    # Through JSON, as it travels.
    assert np.array_equal(decode_answer(json.dumps(answer).encode()), label_map)


@settings(max_examples=30, deadline=None)
@given(label_maps(3))
def test_other_label_sets_round_trip(label_map):
    answer = encode_answer(label_map, labels=PETS)
    assert {item["label"] for item in answer} <= set(PETS.names)
    assert np.array_equal(decode_answer(answer, labels=PETS), label_map)


def test_answer_is_the_services_format():
    label_map = np.zeros((5, 4), dtype=np.uint8)
    label_map[1:3, 1:3] = 16  # Bag
    label_map[4, :] = 9  # Left-shoe
    answer = encode_answer(label_map, score=1.0)
    assert [item["label"] for item in answer] == ["Background", "Left-shoe", "Bag"]
    for item in answer:
        assert set(item) == {"score", "label", "mask"}
        assert item["score"] == 1.0
        mask = Image.open(io.BytesIO(base64.b64decode(item["mask"])))
        assert mask.format == "PNG"
        assert mask.mode == "L"
        assert mask.size == (4, 5)
        pixels = np.asarray(mask)
        assert set(np.unique(pixels).tolist()) <= {0, 255}
        assert np.array_equal(pixels == 255, label_map == CLOTHES_LABELS.id(item["label"]))


def test_score_defaults_to_null_as_the_service_often_sends():
    assert [item["score"] for item in encode_answer(np.zeros((2, 2), np.uint8))] == [None]


def test_compression_level_changes_size_not_content():
    label_map = np.zeros((200, 100), dtype=np.uint8)
    label_map[::3, ::2] = 4
    fast, small = encode_answer(label_map, compress_level=1), encode_answer(label_map)
    assert fast == small  # the default is the fast level
    smallest = encode_answer(label_map, compress_level=9)
    assert len(smallest[1]["mask"]) < len(fast[1]["mask"])
    assert np.array_equal(decode_answer(smallest), decode_answer(fast))


def test_integer_label_maps_of_any_dtype_are_encoded():
    label_map = np.array([[0, 17], [4, 4]], dtype=np.int64)
    assert np.array_equal(decode_answer(encode_answer(label_map)), label_map)


@pytest.mark.parametrize(
    ("label_map", "match"),
    [
        (np.zeros((2, 2, 3), np.uint8), "2-D"),
        (np.zeros((2, 2), np.float32), "integer class ids"),
        (np.full((2, 2), 18, np.uint8), "only 18 classes"),
        (np.full((2, 2), -1, np.int16), "only 18 classes"),
    ],
)
def test_label_maps_that_cannot_be_encoded_are_refused(label_map, match):
    with pytest.raises(ValueError, match=match):
        encode_answer(label_map)


def test_decoding_resizes_to_the_size_wanted_with_nearest_neighbour():
    label_map = np.array([[0, 4], [6, 6]], dtype=np.uint8)
    decoded = decode_answer(encode_answer(label_map), size=(4, 6))
    assert decoded.shape == (6, 4)
    assert np.array_equal(decoded, np.repeat(np.repeat(label_map, 3, axis=0), 2, axis=1))


def test_decoding_refuses_what_is_not_an_answer():
    with pytest.raises(ResponseFormatError, match="not JSON"):
        decode_answer(b"{not json")
    with pytest.raises(ResponseFormatError, match="got an object: Model is loading"):
        decode_answer('{"error": "Model is loading"}')
    with pytest.raises(ResponseFormatError, match="unknown label 'cat'"):
        decode_answer(encode_answer(np.ones((2, 2), np.uint8), labels=PETS))
