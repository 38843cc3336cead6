"""`segformer-clothes evaluate`, run as a process on folders the test writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segformer_clothes import CLOTHES_LABELS, SegmentationResult
from segformer_clothes.cli import main

pytestmark = pytest.mark.integration


def drawn_look(width: int = 40, height: int = 60, shift: int = 0) -> np.ndarray:
    label_map = np.zeros((height, width), np.uint8)
    label_map[5:15, 12:28] = CLOTHES_LABELS.id("Hair")
    label_map[15:35, 8 + shift : 32 + shift] = CLOTHES_LABELS.id("Upper-clothes")
    label_map[35:52, 10:20] = CLOTHES_LABELS.id("Pants")
    label_map[35:52, 20:30] = CLOTHES_LABELS.id("Pants")
    label_map[52:58, 10:20] = CLOTHES_LABELS.id("Left-shoe")
    label_map[52:58, 20:30] = CLOTHES_LABELS.id("Right-shoe")
    return label_map


def swapped_shoes(label_map: np.ndarray) -> np.ndarray:
    left, right = CLOTHES_LABELS.id("Left-shoe"), CLOTHES_LABELS.id("Right-shoe")
    out = label_map.copy()
    out[label_map == left] = right
    out[label_map == right] = left
    return out


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The seed's layout: photos image_N.jpg, annotations mask_N.json, and a labels/ folder
    as `segformer-clothes segment` writes it (image_N.png, remembering its photo)."""
    photos, annotations, labels = tmp_path / "photos", tmp_path / "annotations", tmp_path / "labels"
    for folder in (photos, annotations, labels):
        folder.mkdir()
    for number in range(3):
        target = drawn_look()
        photo = photos / f"image_{number}.jpg"
        SegmentationResult(target).colorize().save(photo)
        (annotations / f"mask_{number}.json").write_text(
            json.dumps(SegmentationResult(target).to_response()), encoding="utf-8"
        )
        predicted = drawn_look(shift=number) if number != 1 else swapped_shoes(target)
        SegmentationResult(predicted, source=photo).save(labels / f"image_{number}.png")
    # An unmatched prediction, a colourised mask and a note: reported, not fatal.
    SegmentationResult(drawn_look()).save(labels / "image_9.png")
    SegmentationResult(drawn_look()).colorize().save(annotations / "mask_0_colour.png")
    (annotations / "README.txt").write_text("masks drawn by hand", encoding="utf-8")
    return labels, annotations, photos


def run_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "segformer_clothes.cli", "evaluate", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


def assert_picture(path: Path) -> None:
    assert path.stat().st_size > 1000
    with Image.open(path) as picture:
        pixels = np.asarray(picture.convert("L"))
    assert pixels.std() > 5, f"{path} is blank"


def test_evaluate_writes_every_report(dataset: tuple[Path, Path, Path], tmp_path: Path) -> None:
    labels, annotations, photos = dataset
    done = run_cli(
        labels,
        annotations,
        "--json",
        tmp_path / "report.json",
        "--markdown",
        tmp_path / "report.md",
        "--plots",
        tmp_path / "plots",
        "--images",
        photos,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "| Upper-clothes |" in done.stdout
    assert done.stdout.startswith("**Mean IoU ")
    assert "mask_0_colour.png: a mode RGB image, not a label map" in done.stderr
    assert "README.txt: not an image" in done.stderr
    assert "no annotation for the prediction" in done.stderr
    assert "image_9.png" in done.stderr
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert {"mean_iou", "mean_dice", "pixel_accuracy", "per_class", "per_image"} <= set(data)
    assert list(data["per_class"]) == list(CLOTHES_LABELS.names)
    assert data["per_image"][0]["name"] == "mask_1"  # the swapped shoes: worst
    assert data["per_class"]["Left-shoe"]["iou"] < 1.0
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == done.stdout.split("\nwrote")[0]
    for name in ("class_iou.png", "confusion.png", "images/mask_0.png", "images/mask_1.png"):
        assert_picture(tmp_path / "plots" / name)


def test_merge_sides_forgives_swapped_shoes(dataset: tuple[Path, Path, Path]) -> None:
    labels, annotations, _ = dataset
    done = run_cli(labels, annotations, "--merge-sides", "--json", "-", cwd=labels.parent)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # stdout holds the JSON alone; the table went to stderr
    assert "Shoes" in data["per_class"]
    assert "Left-shoe" not in data["per_class"]
    assert data["per_class"]["Shoes"]["iou"] == 1.0
    by_name = {r["name"]: r for r in data["per_image"]}
    assert by_name["mask_1"]["mean_iou"] == 1.0
    assert "| Shoes " in done.stderr


def test_markdown_to_stdout(dataset: tuple[Path, Path, Path]) -> None:
    labels, annotations, _ = dataset
    done = run_cli(labels, annotations, "--markdown", "-", cwd=labels.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("**Mean IoU ")


def test_no_pair_is_a_usage_error(tmp_path: Path) -> None:
    predictions, annotations = tmp_path / "p", tmp_path / "a"
    predictions.mkdir()
    annotations.mkdir()
    SegmentationResult(drawn_look()).save(predictions / "x.png")
    SegmentationResult(drawn_look()).save(annotations / "y.png")
    done = run_cli(predictions, annotations, cwd=tmp_path)
    assert done.returncode == 2
    assert "no prediction in" in done.stderr
    assert "pairs with an annotation" in done.stderr
    assert done.stdout == ""


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path / "missing"), str(tmp_path)]) == 2
    assert "PREDICTIONS" in capsys.readouterr().err
    (tmp_path / "file.png").write_bytes(b"")
    assert main(["evaluate", str(tmp_path / "file.png"), str(tmp_path)]) == 2
    assert "two folders" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["evaluate", str(tmp_path)])
    assert stopped.value.code == 2


def test_a_bad_prediction_fails_with_its_name(tmp_path: Path) -> None:
    predictions, annotations = tmp_path / "p", tmp_path / "a"
    predictions.mkdir()
    annotations.mkdir()
    bad = drawn_look()
    bad[0, 0] = 40
    Image.fromarray(bad).save(predictions / "look.png")
    SegmentationResult(drawn_look()).save(annotations / "look.png")
    done = run_cli(predictions, annotations, cwd=tmp_path)
    assert done.returncode == 1
    assert "image look: the prediction holds class id 40" in done.stderr


def test_two_files_are_one_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prediction = SegmentationResult(drawn_look()).save(tmp_path / "pred.png")
    annotation = tmp_path / "mask.json"
    annotation.write_text(json.dumps(SegmentationResult(drawn_look()).to_response()))
    assert main(["evaluate", str(prediction), str(annotation)]) == 0
    assert "**Mean IoU 1.000**" in capsys.readouterr().out


def test_panels_find_the_photo_a_segment_label_map_remembers(tmp_path: Path) -> None:
    from segformer_clothes.evaluation import FilePair
    from segformer_clothes.evaluation._cli import _photo_for

    photo = tmp_path / "look.jpg"
    SegmentationResult(drawn_look()).colorize().save(photo)
    prediction = SegmentationResult(drawn_look(), source=photo).save(tmp_path / "look.png")
    annotation = tmp_path / "look.json"
    pair = FilePair("look", prediction, annotation)
    assert _photo_for(pair, {}) == photo
    photo.unlink()
    assert _photo_for(pair, {}) is None  # the photo moved: a panel without it
    other = tmp_path / "image_7.png"
    assert (
        _photo_for(FilePair("mask_7", prediction, tmp_path / "mask_7.json"), {"#7": other}) == other
    )
