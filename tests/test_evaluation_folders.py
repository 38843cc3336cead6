"""Folders as people have them: nested label maps, segment's output folder, colourised
masks, and folders given the wrong way round."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from segformer_clothes import CLOTHES_LABELS, InvalidImageError, SegmentationResult
from segformer_clothes.evaluation import (
    Pairing,
    evaluate,
    load_label_map,
    pair_folders,
    segment_labels_folder,
    swapped_folders_warning,
)

LOOK = np.zeros((6, 5), np.uint8)
LOOK[1:4, 1:4] = CLOTHES_LABELS.id("Upper-clothes")
LOOK[4:, :2] = CLOTHES_LABELS.id("Left-shoe")


def save(path: Path, label_map: np.ndarray = LOOK) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return SegmentationResult(label_map).save(path)


def segment_output(root: Path) -> Path:
    """An output folder as `segformer-clothes segment` writes it for photos in subfolders."""
    out = root / "out"
    save(out / "labels" / "look.png")
    save(out / "labels" / "summer" / "look.png")
    save(out / "labels" / "summer" / "beach" / "image_3.png")
    (out / "results.jsonl").write_text("{}\n", encoding="utf-8")
    return out


def test_segment_output_pairs_by_relative_path(tmp_path: Path) -> None:
    out = segment_output(tmp_path)
    annotations = tmp_path / "annotations"
    save(annotations / "look.png")
    other = LOOK.copy()
    other[0, 0] = CLOTHES_LABELS.id("Hat")
    save(annotations / "summer" / "look.png", other)
    save(annotations / "summer" / "beach" / "mask_3.png")
    save(annotations / "winter" / "look.png")  # the same stem, another folder: no pair
    pairing = pair_folders(out, annotations)
    assert [(p.name, p.prediction, p.annotation) for p in pairing.pairs] == [
        ("look", out / "labels/look.png", annotations / "look.png"),
        ("summer/beach/mask_3", out / "labels/summer/beach/image_3.png",
         annotations / "summer/beach/mask_3.png"),
        ("summer/look", out / "labels/summer/look.png", annotations / "summer/look.png"),
    ]  # fmt: skip
    assert pairing.unmatched_annotations == (annotations / "winter/look.png",)
    assert pairing.unmatched_predictions == ()
    report = evaluate(out, annotations)
    by_name = {image.name: image for image in report.per_image}
    assert set(by_name) == {"look", "summer/look", "summer/beach/mask_3"}
    assert report.per_image[0].name == "summer/look"  # the one with a wrong pixel
    assert by_name["look"].mean_iou == 1.0


def test_a_labels_folder_without_results_is_not_a_segment_output(tmp_path: Path) -> None:
    save(tmp_path / "labels" / "look.png")
    assert segment_labels_folder(tmp_path) is None
    (tmp_path / "results.jsonl").write_text("", encoding="utf-8")
    assert segment_labels_folder(tmp_path) == tmp_path / "labels"


def test_numbers_pair_only_within_the_same_subfolder(tmp_path: Path) -> None:
    save(tmp_path / "p" / "a" / "pred_1.png")
    save(tmp_path / "p" / "b" / "pred_2.png")
    save(tmp_path / "g" / "a" / "mask_1.png")
    save(tmp_path / "g" / "a" / "mask_2.png")
    pairing = pair_folders(tmp_path / "p", tmp_path / "g")
    assert [p.name for p in pairing.pairs] == ["a/mask_1"]
    assert pairing.unmatched_annotations == (tmp_path / "g/a/mask_2.png",)
    assert pairing.unmatched_predictions == (tmp_path / "p/b/pred_2.png",)


def test_hidden_folders_are_not_read(tmp_path: Path) -> None:
    save(tmp_path / "p" / "look.png")
    save(tmp_path / "p" / ".cache" / "other.png")
    save(tmp_path / "g" / "look.png")
    pairing = pair_folders(tmp_path / "p", tmp_path / "g")
    assert [p.name for p in pairing.pairs] == ["look"]
    assert pairing.summary() is None


def test_the_summary_counts_what_is_left_out(tmp_path: Path) -> None:
    for number in range(10):
        save(tmp_path / "p" / f"pred_{number}.png")
    for number in range(50):
        save(tmp_path / "g" / f"mask_{number}.png")
    (tmp_path / "g" / "notes.txt").write_text("by hand", encoding="utf-8")
    pairing = pair_folders(tmp_path / "p", tmp_path / "g")
    assert len(pairing.pairs) == 10
    assert pairing.summary() == (
        "40 annotations have no prediction, 1 file skipped (not label maps)"
    )
    listed = pairing.to_dict()
    assert len(listed["unmatched_annotations"]) == 40  # type: ignore[arg-type]
    assert json.loads(json.dumps(listed)) == listed


def test_palette_decodes_a_colourised_mask(tmp_path: Path) -> None:
    colours = tmp_path / "colours.png"
    SegmentationResult(LOOK).colorize().save(colours)
    with pytest.raises(InvalidImageError, match="palette=True"):
        load_label_map(colours)
    decoded = load_label_map(colours, palette=True)
    assert decoded.dtype == np.uint8
    assert decoded.tolist() == LOOK.tolist()
    rgba = tmp_path / "colours_rgba.png"
    SegmentationResult(LOOK).colorize().convert("RGBA").save(rgba)
    assert load_label_map(rgba, palette=True).tolist() == LOOK.tolist()
    # A label map of class ids reads the same with or without the palette.
    ids = save(tmp_path / "ids.png")
    assert load_label_map(ids, palette=True).tolist() == LOOK.tolist()


def test_palette_refuses_a_colour_of_no_class_naming_the_file(tmp_path: Path) -> None:
    picture = SegmentationResult(LOOK).colorize()
    picture.putpixel((0, 0), (1, 2, 3))
    path = tmp_path / "blurred.png"
    picture.save(path)
    with pytest.raises(InvalidImageError, match=r"1 colour\(s\).*\(1, 2, 3\)") as raised:
        load_label_map(path, palette=True)
    assert raised.value.source == str(path)


def test_palette_pairs_and_scores_colourised_folders(tmp_path: Path) -> None:
    save(tmp_path / "p" / "look.png")
    (tmp_path / "g").mkdir()
    SegmentationResult(LOOK).colorize().save(tmp_path / "g" / "look.png")
    assert [s.path.name for s in pair_folders(tmp_path / "p", tmp_path / "g").skipped] == [
        "look.png"
    ]
    assert evaluate(tmp_path / "p", tmp_path / "g", palette=True).mean_iou == 1.0


def test_swapped_folders_are_told(tmp_path: Path) -> None:
    out = segment_output(tmp_path)
    annotations = tmp_path / "annotations"
    save(annotations / "look.png")
    right = pair_folders(out, annotations)
    assert swapped_folders_warning(right, annotations) is None
    wrong = pair_folders(annotations, out / "labels")
    assert swapped_folders_warning(wrong, out / "labels") is None  # only the names tell
    warning = swapped_folders_warning(pair_folders(annotations, out), out)
    assert warning is not None
    assert "holds results.jsonl" in warning
    assert "wrong way round" in warning


@pytest.mark.parametrize(
    ("predicted", "annotated", "swapped"),
    [
        (["mask_1", "mask_2"], ["image_1", "image_2"], True),
        (["gt_1", "gt-2"], ["pred_1", "pred_2"], True),
        (["annotation1", "Label_2"], ["1", "2"], True),
        (["image_1", "image_2"], ["mask_1", "mask_2"], False),
        (["mask_1", "mask_2"], ["mask_1", "mask_2"], False),  # both named alike: no telling
        (["masked_ball", "gtx"], ["a", "b"], False),  # words that only start alike
    ],
)
def test_predictions_named_like_annotations_are_told(
    tmp_path: Path, predicted: list[str], annotated: list[str], swapped: bool
) -> None:
    for name in predicted:
        save(tmp_path / "p" / f"{name}.png")
    for name in annotated:
        save(tmp_path / "g" / f"{name}.png")
    pairing = pair_folders(tmp_path / "p", tmp_path / "g")
    assert (swapped_folders_warning(pairing, tmp_path / "g") is not None) == swapped


def test_the_warning_reads_the_files_left_out_too(tmp_path: Path) -> None:
    pairing = Pairing((), unmatched_predictions=(Path("mask_1.png"),))
    assert swapped_folders_warning(pairing, tmp_path) is not None


def test_names_name_the_images_of_lists(tmp_path: Path) -> None:
    paths = [save(tmp_path / "a" / "look.png"), save(tmp_path / "b" / "look.png")]
    report = evaluate(paths, paths, names=["a/look", "b/look"])
    assert sorted(image.name for image in report.per_image) == ["a/look", "b/look"]
    assert [image.name for image in evaluate(paths, paths).per_image] == ["look", "look"]
