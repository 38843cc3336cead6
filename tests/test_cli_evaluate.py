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
    """A usual layout: photos image_N.jpg, annotations mask_N.json, and a labels/ folder
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
    # One line counts what the pairing left out; the JSON lists it.
    assert done.stderr.splitlines() == [
        "segformer-clothes evaluate: warning: 1 prediction has no annotation, "
        "2 files skipped (not label maps); see --json or run with -v"
    ]
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["pairing"]["pairs"] == 3
    assert data["pairing"]["unmatched_predictions"] == [str(labels / "image_9.png")]
    assert data["pairing"]["unmatched_annotations"] == []
    reasons = {Path(s["path"]).name: s["reason"] for s in data["pairing"]["skipped"]}
    assert sorted(reasons) == ["README.txt", "mask_0_colour.png"]
    assert reasons["mask_0_colour.png"].startswith("a mode RGB image, not a label map")
    assert "--palette" in reasons["mask_0_colour.png"]
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


def test_a_negative_panels_is_one_line_before_any_work(
    dataset: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    labels, annotations, _ = dataset
    plots = tmp_path / "plots"
    done = run_cli(labels, annotations, "--plots", plots, "--panels", "-1", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "segformer-clothes evaluate: error: --panels must be a whole number, 0 or more, got -1"
    ]
    assert done.stdout == ""  # no report either
    assert not plots.exists()


def test_no_panels_writes_the_two_charts_only(
    dataset: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    labels, annotations, _ = dataset
    plots = tmp_path / "plots"
    done = run_cli(labels, annotations, "--plots", plots, "--panels", "0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in plots.iterdir()) == ["class_iou.png", "confusion.png"]


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


def panels_in(picture: Path) -> int:
    """How many pictures a saved comparison panel shows (each is 3.2 inches wide at 100 dpi):
    4 with the photo, 3 without."""
    with Image.open(picture) as panel:
        return round(panel.width / 320)


def write_photo(path: Path, width: int = 40, height: int = 60) -> Path:
    label_map = np.zeros((height, width), np.uint8)
    label_map[: height // 2] = CLOTHES_LABELS.id("Upper-clothes")
    SegmentationResult(label_map).colorize().save(path)
    return path


def evaluate_with_panels(predictions: Path, annotations: Path, *options: str | Path) -> int:
    """Run ``segformer-clothes evaluate ... --plots`` in this process; the plots go next to
    the predictions folder."""
    arguments = [predictions, annotations, "--plots", predictions.parent / "plots", *options]
    return main(["evaluate", *map(str, arguments)])


def test_panels_find_the_photo_a_segment_label_map_remembers(tmp_path: Path) -> None:
    predictions, annotations = tmp_path / "labels", tmp_path / "annotations"
    predictions.mkdir()
    annotations.mkdir()
    photo = write_photo(tmp_path / "look.jpg")
    SegmentationResult(drawn_look(), source=photo).save(predictions / "look.png")
    (annotations / "look.json").write_text(
        json.dumps(SegmentationResult(drawn_look()).to_response())
    )
    assert evaluate_with_panels(predictions, annotations) == 0
    assert panels_in(tmp_path / "plots" / "images" / "look.png") == 4
    photo.unlink()
    assert evaluate_with_panels(predictions, annotations) == 0
    assert panels_in(tmp_path / "plots" / "images" / "look.png") == 3  # a panel without it


@pytest.mark.parametrize(
    ("prediction", "annotation", "photo"),
    [
        ("pred_7", "mask_7", "image_7.jpg"),  # the number the stems end in
        ("pred_7", "mask_7", "IMG_007.JPG"),
        ("pred_7", "mask_7", "image_7.jfif"),  # a JPEG suffix some cameras and browsers write
        ("look", "look", "look.jpeg"),  # the same stem
    ],
)
def test_panels_find_the_photo_in_the_images_folder_by_name(
    tmp_path: Path, prediction: str, annotation: str, photo: str
) -> None:
    predictions, annotations, photos = tmp_path / "p", tmp_path / "a", tmp_path / "photos"
    for folder in (predictions, annotations, photos):
        folder.mkdir()
    SegmentationResult(drawn_look()).save(predictions / f"{prediction}.png")
    (annotations / f"{annotation}.json").write_text(
        json.dumps(SegmentationResult(drawn_look()).to_response())
    )
    write_photo(photos / photo)
    # Photos of another size: taking one of them would fail the run (exit 1).
    write_photo(photos / "image_8.jpg", width=30)
    write_photo(photos / "other.jpg", width=30)
    assert evaluate_with_panels(predictions, annotations, "--images", photos) == 0
    assert panels_in(tmp_path / "plots" / "images" / f"{annotation}.png") == 4


def test_two_files_find_the_photo_by_the_annotation_name(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    prediction = SegmentationResult(drawn_look()).save(tmp_path / "predicted.png")
    annotation = tmp_path / "look.json"
    annotation.write_text(json.dumps(SegmentationResult(drawn_look()).to_response()))
    write_photo(photos / "look.webp")
    write_photo(photos / "predicted_by_hand.jpg", width=30)
    assert evaluate_with_panels(prediction, annotation, "--images", photos) == 0
    assert panels_in(tmp_path / "plots" / "images" / "look.png") == 4


def test_panels_without_a_photo_to_find(tmp_path: Path) -> None:
    predictions, annotations, photos = tmp_path / "p", tmp_path / "a", tmp_path / "photos"
    for folder in (predictions, annotations, photos):
        folder.mkdir()
    SegmentationResult(drawn_look()).save(predictions / "pred_7.png")
    SegmentationResult(drawn_look()).save(annotations / "mask_7.png")
    write_photo(photos / "image_8.jpg")
    (photos / "image_7.txt").write_text("not a photo", encoding="utf-8")
    assert evaluate_with_panels(predictions, annotations, "--images", photos) == 0
    assert panels_in(tmp_path / "plots" / "images" / "mask_7.png") == 3


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("mask_1.json", b"[" * 100_000, "nested too deeply"),
        ("mask_1.png", "half a PNG", "truncated"),
    ],
)
def test_a_bad_label_map_is_one_line_and_exit_1(
    tmp_path: Path, name: str, content: bytes | str, says: str
) -> None:
    predictions, annotations = tmp_path / "pred", tmp_path / "ann"
    predictions.mkdir()
    annotations.mkdir()
    if content == "half a PNG":
        noise = np.random.default_rng(0).integers(0, 18, (64, 64), dtype=np.uint8)
        Image.fromarray(noise).save(predictions / name)
        whole = (predictions / name).read_bytes()
        content = whole[: len(whole) // 2]
    assert isinstance(content, bytes)
    (predictions / name).write_bytes(content)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(annotations / "mask_1.png")
    done = run_cli(predictions, annotations, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr
    assert says in errors[0]
    assert name in errors[0]
    assert "Traceback" not in done.stderr


def test_a_partial_folder_is_one_line_listed_with_v_and_in_the_json(tmp_path: Path) -> None:
    predictions, annotations = tmp_path / "pred", tmp_path / "ann"
    predictions.mkdir()
    annotations.mkdir()
    for number in range(10):
        SegmentationResult(drawn_look()).save(predictions / f"image_{number}.png")
    for number in range(50):
        SegmentationResult(drawn_look()).save(annotations / f"mask_{number}.png")
    (annotations / "notes.txt").write_text("drawn by hand", encoding="utf-8")
    summary = (
        "segformer-clothes evaluate: warning: 40 annotations have no prediction, "
        "1 file skipped (not label maps); see --json or run with -v"
    )
    done = run_cli(predictions, annotations, "--json", "-", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == summary
    assert sum("warning" in line for line in done.stderr.splitlines()) == 1
    assert "no prediction for the annotation" not in done.stderr
    pairing = json.loads(done.stdout)["pairing"]
    assert pairing["unmatched_annotations"] == [
        str(annotations / f"mask_{number}.png") for number in range(10, 50)
    ]
    assert pairing["skipped"] == [
        {"path": str(annotations / "notes.txt"), "reason": "not an image nor a JSON annotation"}
    ]
    verbose = run_cli(predictions, annotations, "-v", cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    lines = verbose.stderr.splitlines()
    assert lines[0] == summary
    assert len([line for line in lines if "no prediction for the annotation" in line]) == 40
    assert f"skipped {annotations / 'notes.txt'}: not an image" in verbose.stderr


def test_a_segment_output_folder_is_scored_as_is(tmp_path: Path) -> None:
    out, annotations = tmp_path / "out", tmp_path / "annotations"
    for name in ("look", "summer/look", "summer/beach/image_3"):
        (out / "labels" / name).parent.mkdir(parents=True, exist_ok=True)
        SegmentationResult(drawn_look()).save(out / "labels" / f"{name}.png")
    (out / "results.jsonl").write_text("{}\n", encoding="utf-8")
    for name in ("look", "summer/look", "summer/beach/mask_3"):
        (annotations / name).parent.mkdir(parents=True, exist_ok=True)
        target = drawn_look() if name != "summer/look" else swapped_shoes(drawn_look())
        (annotations / f"{name}.json").write_text(
            json.dumps(SegmentationResult(target).to_response()), encoding="utf-8"
        )
    plots = tmp_path / "plots"
    done = run_cli(out, annotations, "--json", "-", "--plots", plots, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)  # the table and "wrote ..." went to stderr
    assert data["per_image"][0]["name"] == "summer/look"
    assert {image["name"] for image in data["per_image"]} == {
        "look",
        "summer/look",
        "summer/beach/mask_3",
    }
    assert data["pairing"]["unmatched_predictions"] == []
    assert "warning" not in done.stderr
    assert_picture(plots / "images" / "summer" / "look.png")
    assert_picture(plots / "images" / "summer" / "beach" / "mask_3.png")


def test_palette_scores_colourised_masks(tmp_path: Path) -> None:
    predictions, annotations = tmp_path / "pred", tmp_path / "ann"
    predictions.mkdir()
    annotations.mkdir()
    SegmentationResult(drawn_look()).save(predictions / "look.png")
    SegmentationResult(drawn_look()).colorize().save(annotations / "look.png")
    without = run_cli(predictions, annotations, cwd=tmp_path)
    assert without.returncode == 2
    assert "1 file skipped" in without.stderr
    done = run_cli(predictions, annotations, "--palette", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("**Mean IoU 1.000**")
    assert done.stderr == ""
    picture = SegmentationResult(drawn_look()).colorize()
    picture.putpixel((0, 0), (1, 2, 3))
    picture.save(annotations / "look.png")
    wrong = run_cli(predictions, annotations, "--palette", cwd=tmp_path)
    assert wrong.returncode == 1
    assert "look.png" in wrong.stderr
    assert "no class's colour" in wrong.stderr


@pytest.mark.parametrize("given", ["segment output", "names"])
def test_swapped_folders_get_a_warning(tmp_path: Path, given: str) -> None:
    out, annotations = tmp_path / "out", tmp_path / "annotations"
    (out / "labels").mkdir(parents=True)
    annotations.mkdir()
    (out / "results.jsonl").write_text("{}\n", encoding="utf-8")
    for number in range(3):
        SegmentationResult(drawn_look()).save(out / "labels" / f"image_{number}.png")
        SegmentationResult(drawn_look()).save(annotations / f"mask_{number}.png")
    right = run_cli(out, annotations, cwd=tmp_path)
    assert right.returncode == 0, right.stderr
    assert right.stderr == ""
    swapped_annotations = out if given == "segment output" else out / "labels"
    done = run_cli(annotations, swapped_annotations, cwd=tmp_path)
    # The label maps of a segment output lie in its labels/: nothing pairs, after the warning.
    assert done.returncode == (2 if given == "segment output" else 0), done.stderr
    warnings = [line for line in done.stderr.splitlines() if "wrong way round" in line]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith("segformer-clothes evaluate: warning: ")
