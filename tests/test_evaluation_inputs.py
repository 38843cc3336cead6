"""Hostile evaluation inputs: every label-map file that cannot be read gives one clear
`InvalidImageError` (a ValueError) naming the file, the command prints it as one line, and
files that are readable after all (a byte-order mark, a 1-bit mask) are read."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from segformer_clothes import SegmentationResult
from segformer_clothes.cli import main
from segformer_clothes.errors import InvalidImageError
from segformer_clothes.evaluation import evaluate, load_label_map, pair_folders

LABEL_MAP = np.array([[0, 4, 4], [6, 6, 9], [0, 11, 2]], dtype=np.uint8)


def answer_json(label_map: np.ndarray = LABEL_MAP) -> bytes:
    return json.dumps(SegmentationResult(label_map).to_response()).encode()


def refused(path: Path, *words: str) -> InvalidImageError:
    with pytest.raises(InvalidImageError) as caught:
        load_label_map(path)
    error = caught.value
    assert isinstance(error, ValueError)  # what the command and evaluate() catch
    assert error.source == str(path)
    assert str(path) in str(error)
    assert "\n" not in str(error)  # printed as one line
    for word in words:
        assert word in error.message
    return error


# ---------------------------------------------------------------------- refused


def test_a_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.png"
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(path)
    # 10 000 pixels against a limit of 1000 (Pillow itself refuses past 2x) and of 8000 (where
    # Pillow only warns): both are refused, as photos are.
    for limit in (1000, 8000):
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
        refused(path, "decompression bomb", "MAX_IMAGE_PIXELS")


def test_a_decompression_bomb_in_a_folder_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    predictions, annotations = tmp_path / "pred", tmp_path / "gt"
    predictions.mkdir()
    annotations.mkdir()
    Image.fromarray(LABEL_MAP).save(predictions / "a.png")
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(annotations / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert [pair.name for pair in pair_folders(predictions, annotations).pairs] == ["a"]
    with pytest.raises(InvalidImageError, match="decompression bomb"):
        evaluate(predictions, annotations)


def test_a_truncated_label_map_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.tile(LABEL_MAP, (40, 40))).save(buffer, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[:-60])
    refused(path, "damaged or truncated")


def test_evaluate_names_the_image_and_keeps_the_file_as_source(tmp_path: Path) -> None:
    prediction, annotation = tmp_path / "pred_3.png", tmp_path / "mask_3.json"
    Image.fromarray(LABEL_MAP).save(prediction)
    annotation.write_text("[" * 100_000, encoding="utf-8")
    with pytest.raises(InvalidImageError, match="image mask_3: .*nested too deeply") as caught:
        evaluate([prediction], [annotation])
    assert caught.value.source == str(annotation)
    assert str(caught.value).count(str(annotation)) == 1


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    refused(path, "empty")


@pytest.mark.parametrize(
    "text", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000]
)
def test_deeply_nested_json_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(text, encoding="utf-8")
    refused(path, "not an annotation in the API's JSON format")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"[{]", "invalid JSON"),
        (b"\xff\xfe[\x00]\x00", "not UTF-8"),
        (b'"[]"', "it holds a JSON str"),
        (b"[1, 2]", "item 0 is a int"),
    ],
)
def test_json_that_is_no_annotation_is_refused(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    refused(path, "not an annotation", words)


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg", ".JPG", ".jfif"])
def test_a_jpeg_label_map_is_refused_as_lossy(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"mask{suffix}"
    Image.fromarray(LABEL_MAP).save(path, format="JPEG", quality=100)
    refused(path, "JPEG", "lossless", "PNG")


def test_a_jpeg_under_another_name_is_refused_as_lossy(tmp_path: Path) -> None:
    path = tmp_path / "mask.png"
    Image.fromarray(LABEL_MAP).save(path, format="JPEG")
    refused(path, "JPEG", "lossless")


def test_jpeg_annotations_are_skipped_with_the_reason(tmp_path: Path) -> None:
    predictions, annotations = tmp_path / "pred", tmp_path / "gt"
    predictions.mkdir()
    annotations.mkdir()
    Image.fromarray(LABEL_MAP).save(predictions / "a.png")
    Image.fromarray(LABEL_MAP).save(annotations / "a.jpg")
    Image.fromarray(LABEL_MAP).save(annotations / "b.png", format="JPEG")
    pairing = pair_folders(predictions, annotations)
    assert pairing.pairs == ()
    reasons = {skipped.path.name: skipped.reason for skipped in pairing.skipped}
    assert set(reasons) == {"a.jpg", "b.png"}
    assert all("lossless" in reason for reason in reasons.values())


def test_a_folder_is_refused(tmp_path: Path) -> None:
    refused(tmp_path, "folder")


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "mask.png"
    os.mkfifo(fifo)
    refused(fifo, "named pipe (FIFO)")  # hangs if the FIFO is opened
    json_fifo = tmp_path / "mask.json"
    os.mkfifo(json_fifo)
    refused(json_fifo, "named pipe (FIFO)")


def test_the_command_prints_a_bad_annotation_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    predictions, annotations = tmp_path / "pred", tmp_path / "gt"
    predictions.mkdir()
    annotations.mkdir()
    Image.fromarray(LABEL_MAP).save(predictions / "a.png")
    (annotations / "a.json").write_text("[" * 100_000, encoding="utf-8")
    code = main(["evaluate", str(predictions), str(annotations)])
    error_lines = [line for line in capsys.readouterr().err.splitlines() if "a.json" in line]
    assert code != 0
    assert len(error_lines) == 1
    assert "nested too deeply" in error_lines[0]
    assert "Traceback" not in error_lines[0]


# ---------------------------------------------------------------------- read


def test_json_with_a_byte_order_mark_is_read_and_paired(tmp_path: Path) -> None:
    predictions, annotations = tmp_path / "pred", tmp_path / "gt"
    predictions.mkdir()
    annotations.mkdir()
    Image.fromarray(LABEL_MAP).save(predictions / "a.png")
    path = annotations / "a.json"
    path.write_bytes(b"\xef\xbb\xbf" + answer_json())  # what Windows Notepad writes
    np.testing.assert_array_equal(load_label_map(path), LABEL_MAP)
    pairing = pair_folders(predictions, annotations)
    assert [pair.name for pair in pairing.pairs] == ["a"]
    assert evaluate(predictions, annotations).mean_iou == 1.0


def test_a_1_bit_mask_is_read_as_0_and_1(tmp_path: Path) -> None:
    mask = np.array([[True, False, True], [False, True, False]])
    path = tmp_path / "mask.png"
    Image.fromarray(mask).save(path)
    with Image.open(path) as picture:
        assert picture.mode == "1"
    loaded = load_label_map(path)
    assert loaded.dtype == np.uint8
    assert loaded.tolist() == mask.astype(np.uint8).tolist()
    # The same rule as for a boolean array given to evaluate().
    assert evaluate([loaded], [mask]).mean_iou == 1.0


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_16_bit_label_maps_of_either_byte_order(tmp_path: Path, mode: str) -> None:
    wide = LABEL_MAP.astype(">u2" if mode == "I;16B" else "<u2")
    path = tmp_path / "wide.tif"
    Image.frombytes(mode, (3, 3), wide.tobytes()).save(path)
    np.testing.assert_array_equal(load_label_map(path), LABEL_MAP)


# ---------------------------------------------------------------------- property


def png(label_map: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(label_map).save(buffer, format="PNG")
    return buffer.getvalue()


@st.composite
def damaged(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


contents = st.one_of(
    st.binary(max_size=300),
    damaged(png(LABEL_MAP)),
    damaged(answer_json()),
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(contents, st.sampled_from([".png", ".json", ".bmp"]))
def test_any_file_is_read_or_refused_with_invalid_image_error(
    tmp_path: Path, content: bytes, suffix: str
) -> None:
    path = tmp_path / f"mask{suffix}"
    path.write_bytes(content)
    try:
        loaded = load_label_map(path)
    except InvalidImageError as error:
        caught = error
    else:
        assert loaded.ndim == 2
        assert np.issubdtype(loaded.dtype, np.integer)
        return
    assert caught.source == str(path)
