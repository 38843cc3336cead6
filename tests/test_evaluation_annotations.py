"""Reading label maps and API-format annotations from files, and pairing two folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes import SegmentationResult
from segformer_clothes.evaluation import SkippedFile, evaluate, load_label_map, pair_folders

LABEL_MAP = np.array([[0, 4, 4], [6, 6, 9], [0, 11, 2]], dtype=np.uint8)


def write_label_map(path: Path, label_map: np.ndarray = LABEL_MAP) -> Path:
    Image.fromarray(label_map).save(path)
    return path


def write_json(path: Path, label_map: np.ndarray = LABEL_MAP) -> Path:
    path.write_text(json.dumps(SegmentationResult(label_map).to_response()), encoding="utf-8")
    return path


# ---------------------------------------------------------------------- loading


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".gif"])
def test_a_mode_l_label_map_in_any_lossless_format(tmp_path: Path, suffix: str) -> None:
    path = write_label_map(tmp_path / f"mask{suffix}")
    np.testing.assert_array_equal(load_label_map(path), LABEL_MAP)


def test_a_palette_label_map_written_by_save(tmp_path: Path) -> None:
    path = SegmentationResult(LABEL_MAP).save(tmp_path / "look.png")
    with Image.open(path) as picture:
        assert picture.mode == "P"
    loaded = load_label_map(path)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, LABEL_MAP)


def test_an_annotation_in_the_api_json_format(tmp_path: Path) -> None:
    path = write_json(tmp_path / "mask_0.json")
    np.testing.assert_array_equal(load_label_map(path), LABEL_MAP)


def test_a_16_bit_label_map(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    Image.fromarray(LABEL_MAP.astype(np.uint16)).save(path)
    loaded = load_label_map(path)
    assert np.issubdtype(loaded.dtype, np.integer)
    np.testing.assert_array_equal(loaded, LABEL_MAP)


def test_an_rgb_mask_is_not_a_label_map(tmp_path: Path) -> None:
    path = tmp_path / "colour.png"
    SegmentationResult(LABEL_MAP).colorize().save(path)
    with pytest.raises(ValueError, match=r"mode RGB image, not a label map") as caught:
        load_label_map(path)
    assert "colourised mask" in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_note_is_not_a_label_map(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("annotated by Ana", encoding="utf-8")
    with pytest.raises(ValueError, match="neither an image Pillow can read nor a JSON"):
        load_label_map(path)


def test_a_json_file_of_another_shape_says_so(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_text('{"author": "Ana"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"not an annotation in the API's JSON") as caught:
        load_label_map(path)
    assert "it holds an object" in str(caught.value)
    assert caught.value.source == str(path)  # type: ignore[attr-defined]


def test_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        load_label_map(tmp_path / "nothing.png")
    assert caught.value.filename == str(tmp_path / "nothing.png")


# ---------------------------------------------------------------------- pairing


def make_folders(tmp_path: Path) -> tuple[Path, Path]:
    predictions, annotations = tmp_path / "pred", tmp_path / "gt"
    predictions.mkdir()
    annotations.mkdir()
    return predictions, annotations


def test_files_pair_by_stem(tmp_path: Path) -> None:
    predictions, annotations = make_folders(tmp_path)
    write_label_map(predictions / "look.png")
    write_json(annotations / "look.json")
    pairing = pair_folders(predictions, annotations)
    assert [(p.name, p.prediction.name, p.annotation.name) for p in pairing.pairs] == [
        ("look", "look.png", "look.json")
    ]
    assert pairing.unmatched_predictions == pairing.unmatched_annotations == ()


def test_files_pair_by_number_after_different_prefixes(tmp_path: Path) -> None:
    predictions, annotations = make_folders(tmp_path)
    for number in (2, 10, 1):
        write_label_map(predictions / f"image_{number}.png")  # what `segment` writes
        write_json(annotations / f"mask_{number}.json")
    pairing = pair_folders(predictions, annotations)
    assert [p.name for p in pairing.pairs] == ["mask_1", "mask_2", "mask_10"]
    assert all(
        p.prediction.stem.split("_")[1] == p.annotation.stem.split("_")[1] for p in pairing.pairs
    )


def test_ambiguous_pairs_are_an_error(tmp_path: Path) -> None:
    predictions, annotations = make_folders(tmp_path)
    write_label_map(predictions / "pred_3.png")
    write_label_map(predictions / "other_3.png")
    write_json(annotations / "mask_3.json")
    with pytest.raises(ValueError, match=r"ambiguous pairing for number 3: .*other_3\.png"):
        pair_folders(predictions, annotations)


def test_two_files_for_one_stem_in_a_folder_are_an_error(tmp_path: Path) -> None:
    predictions, annotations = make_folders(tmp_path)
    write_json(annotations / "mask_3.json")
    write_label_map(annotations / "mask_3.png")
    with pytest.raises(ValueError, match="two annotation files for the same image"):
        pair_folders(predictions, annotations)


def test_unmatched_files_are_reported(tmp_path: Path) -> None:
    predictions, annotations = make_folders(tmp_path)
    write_label_map(predictions / "pred_1.png")
    write_label_map(predictions / "pred_7.png")
    write_json(annotations / "mask_1.json")
    write_json(annotations / "mask_8.json")
    pairing = pair_folders(predictions, annotations)
    assert [p.name for p in pairing.pairs] == ["mask_1"]
    assert pairing.unmatched_predictions == (predictions / "pred_7.png",)
    assert pairing.unmatched_annotations == (annotations / "mask_8.json",)


def test_only_the_top_level_is_read_and_other_files_are_skipped(tmp_path: Path) -> None:
    predictions, annotations = make_folders(tmp_path)
    write_label_map(predictions / "a.png")
    write_label_map(annotations / "a.png")
    (annotations / "nested").mkdir()
    write_label_map(annotations / "nested" / "b.png")
    write_label_map(predictions / "b.png")
    SegmentationResult(LABEL_MAP).colorize().save(annotations / "colour.png")
    (annotations / "notes.txt").write_text("hello", encoding="utf-8")
    (annotations / "meta.json").write_text("{}", encoding="utf-8")
    (annotations / ".DS_Store").write_bytes(b"\0\0")
    pairing = pair_folders(predictions, annotations)
    assert [p.name for p in pairing.pairs] == ["a"]
    assert pairing.unmatched_predictions == (predictions / "b.png",)
    skipped = {s.path.name: s.reason for s in pairing.skipped}
    assert set(skipped) == {"colour.png", "notes.txt", "meta.json"}
    assert "mode RGB image, not a label map" in skipped["colour.png"]
    assert "not an image" in skipped["notes.txt"]
    assert isinstance(pairing.skipped[0], SkippedFile)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="the annotation folder .*nowhere"):
        pair_folders(tmp_path, tmp_path / "nowhere")


# ---------------------------------------------------------------------- evaluate() on files


def test_evaluate_two_folders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    predictions, annotations = make_folders(tmp_path)
    wrong = LABEL_MAP.copy()
    wrong[0, 0] = 4
    SegmentationResult(LABEL_MAP).save(predictions / "image_1.png")
    SegmentationResult(wrong).save(predictions / "image_2.png")
    SegmentationResult(LABEL_MAP).save(predictions / "image_3.png")
    write_json(annotations / "mask_1.json")
    write_json(annotations / "mask_2.json")
    with caplog.at_level("DEBUG", logger="segformer_clothes"):
        report = evaluate(predictions, annotations)
    assert [r.name for r in report.per_image] == ["mask_2", "mask_1"]
    assert report.per_image[1].mean_iou == 1.0
    assert report.total_pixels == 2 * LABEL_MAP.size
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["1 prediction has no annotation; the files are listed at DEBUG level"]
    debug = [r.getMessage() for r in caplog.records if r.levelname == "DEBUG"]
    assert debug == [f"no annotation for the prediction {predictions / 'image_3.png'}"]


def test_evaluate_lists_of_paths_names_images_by_annotation_stem(tmp_path: Path) -> None:
    prediction = write_label_map(tmp_path / "pred_4.png")
    annotation = write_json(tmp_path / "mask_4.json")
    report = evaluate([prediction], [annotation])
    assert report.per_image[0].name == "mask_4"
    assert report.mean_iou == 1.0


def test_evaluate_a_folder_against_a_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="give two folders"):
        evaluate(tmp_path, [LABEL_MAP])


def test_evaluate_two_folders_without_a_pair(tmp_path: Path) -> None:
    predictions, annotations = make_folders(tmp_path)
    write_label_map(predictions / "a.png")
    write_label_map(annotations / "b.png")
    with pytest.raises(ValueError, match="no prediction in .* pairs with an annotation"):
        evaluate(predictions, annotations)
