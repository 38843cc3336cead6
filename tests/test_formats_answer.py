"""`segformer_clothes.formats.answer`: label maps to API answers and back, exactly."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import struct
import zlib

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


# --------------------------------------------------------------------------- hostile answers


def png_bytes(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    return buffer.getvalue()


GOOD_MASK = base64.b64encode(png_bytes(np.full((3, 2), 255, np.uint8))).decode()

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["Pants", "Hat", "Background", "cat", GOOD_MASK, "AAAA", ""])
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["label", "mask", "score", "error", "x"]) | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)
items = st.fixed_dictionaries(
    {"label": json_values | st.sampled_from(["Pants", "Hat"]), "mask": json_values},
    optional={"score": json_values},
)
payloads = st.lists(items | json_values, max_size=4) | json_values


@settings(max_examples=300, deadline=None)
@given(payloads, st.sampled_from([None, (2, 3), (5, 1)]))
def test_only_response_format_errors_escape_from_any_json(payload, size):
    for form in (payload, json.dumps(payload), json.dumps(payload).encode()):
        if not isinstance(form, (list, str, bytes)):
            continue
        try:
            label_map = decode_answer(form, size=size)
        except ResponseFormatError:
            continue
        assert label_map.dtype == np.uint8


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_only_response_format_errors_escape_from_any_bytes(data):
    from segformer_clothes import SegmentationResult

    for form in (data, [{"label": "Pants", "mask": base64.b64encode(data).decode()}]):
        with contextlib.suppress(ResponseFormatError):
            SegmentationResult.from_response(form)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
        (b"[" + b"9" * 100_000 + b"]", "not JSON"),
        (json.dumps({"error": [[[["deep"]]]] * 1000}).encode(), "got an object"),
    ],
)
def test_hostile_json_is_a_format_error(body, words):
    with pytest.raises(ResponseFormatError, match=words) as caught:
        decode_answer(body)
    assert len(str(caught.value)) < 500


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_a_mask_header_claiming_a_huge_size_is_refused_before_decoding():
    bomb = [{"label": "Pants", "mask": base64.b64encode(png_claiming(100_000, 100_000)).decode()}]
    with pytest.raises(ResponseFormatError, match="claims 100000x100000 pixels"):
        decode_answer(bomb)
    with pytest.raises(ResponseFormatError, match="claims 100000x100000 pixels"):
        decode_answer(bomb, size=(40, 60))


def test_a_mask_far_larger_than_the_photo_is_refused():
    big = base64.b64encode(png_bytes(np.zeros((400, 400), np.uint8))).decode()
    answer = [{"label": "Pants", "mask": big}]
    assert decode_answer(answer, size=(200, 200)).shape == (200, 200)  # 4x the pixels: fine
    with pytest.raises(ResponseFormatError, match="more than"):
        decode_answer(answer, size=(20, 20))
