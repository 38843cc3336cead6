"""Draw the hand-made annotation of the sample photo and render the pictures of the docs.

The sample photo is the NASA portrait of the astronaut Eileen Collins (public domain, see
``tests/data/README.md``). No model weights can be had where these docs are built, so the docs
never show a model's answer: they show this annotation, drawn here by hand as polygons and
ellipses, and rendered by the library's own `SegmentationResult.overlay` and
`SegmentationResult.crop`. Every picture says so in its title bar.

Writes:
    tests/data/astronaut_labels.png   the annotation, a label map `SegmentationResult.load` reads
    docs/assets/astronaut.jpg         a copy of the photo, for readers to download
    docs/assets/astronaut_labels.png  a copy of the annotation, for readers to download
    docs/assets/overlay.png           photo | annotation overlaid, with a legend
    docs/assets/crops.png             the cut-outs of the annotated regions
    docs/assets/evaluation_*.png      the evaluation plots of a stand-in prediction: the
                                      annotation shifted sideways (needs matplotlib)
    docs/assets/trends_*.png          the trends guide's pictures: its examples are run (they
                                      draw photos with their label maps), then its photos are
                                      shown beside their label maps, and the charts its report
                                      command wrote are copied (needs the analysis extra and
                                      matplotlib, and the segformer-clothes command on PATH)

Run it from anywhere: ``python scripts/make_docs_pictures.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from segformer_clothes import CLOTHES_LABELS, SegmentationResult

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "tests" / "data" / "astronaut.jpg"
ANNOTATION = ROOT / "tests" / "data" / "astronaut_labels.png"
ASSETS = ROOT / "docs" / "assets"

# The shapes are traced on a 320 x 320 grid laid over the photo and scaled to its real size.
# They are drawn in this order, each over the ones before: the suit, the helmet she holds
# (not worn, so Background), then the hair and the face over it.
GRID = 320
Point = tuple[float, float]
UPPER_CLOTHES: Sequence[Point] = (
    (72, 112), (80, 100), (92, 92), (110, 89), (120, 98), (140, 106), (160, 98), (172, 93),
    (185, 103), (193, 122), (204, 148), (214, 170), (222, 200), (226, 222), (226, 320),
    (14, 320), (16, 235), (21, 195), (30, 165), (45, 148), (62, 133), (70, 122),
)  # fmt: skip
HELMET_BOX: tuple[float, float, float, float] = (170, 212, 330, 350)  # an ellipse's box
HAIR: Sequence[Point] = (
    (100, 62), (97, 45), (102, 30), (112, 18), (128, 10), (148, 8), (166, 12), (180, 22),
    (188, 36), (190, 52), (187, 68), (182, 80), (174, 84), (168, 60), (158, 46), (145, 42),
    (128, 46), (118, 56), (113, 72), (108, 84), (102, 76),
)  # fmt: skip
FACE: Sequence[Point] = (
    (116, 54), (128, 47), (146, 44), (158, 48), (166, 58), (168, 72), (165, 86), (158, 96),
    (148, 103), (138, 105), (127, 101), (119, 92), (113, 78), (112, 64),
)  # fmt: skip

TITLE = "a hand-made annotation (not model output)"
CHECKER = (236, 236, 236), (255, 255, 255)


def draw_annotation(size: tuple[int, int]) -> np.ndarray:
    """The annotation as a label map of clothes class ids, at ``size`` (width, height)."""
    scale_x, scale_y = size[0] / GRID, size[1] / GRID

    def scaled(points: Sequence[Point]) -> list[tuple[float, float]]:
        return [(x * scale_x, y * scale_y) for x, y in points]

    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    draw.polygon(scaled(UPPER_CLOTHES), fill=CLOTHES_LABELS.id("Upper-clothes"))
    left, top, right, bottom = HELMET_BOX
    draw.ellipse(scaled([(left, top), (right, bottom)]), fill=CLOTHES_LABELS.id("Background"))
    draw.polygon(scaled(HAIR), fill=CLOTHES_LABELS.id("Hair"))
    draw.polygon(scaled(FACE), fill=CLOTHES_LABELS.id("Face"))
    return np.asarray(canvas)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _titled(picture: Image.Image, title: str) -> Image.Image:
    """Put a dark title bar above a picture, so that the picture says what it shows."""
    bar, font = 24, _font(13)
    width = max(picture.width, int(font.getlength(title)) + 16)
    out = Image.new("RGB", (width, picture.height + bar), "white")
    ImageDraw.Draw(out).rectangle((0, 0, width, bar - 1), fill=(40, 40, 40))
    out.paste(picture, (0, bar))
    ImageDraw.Draw(out).text((8, 5), title, fill="white", font=font)
    return out


def _on_checkerboard(cutout: Image.Image, cell: int = 8) -> Image.Image:
    """Show a transparent cut-out over a light checkerboard, as image editors do."""
    board = Image.new("RGB", cutout.size, CHECKER[0])
    draw = ImageDraw.Draw(board)
    for top in range(0, cutout.height, cell):
        for left in range(0, cutout.width, cell):
            if (top // cell + left // cell) % 2:
                draw.rectangle((left, top, left + cell - 1, top + cell - 1), fill=CHECKER[1])
    board.paste(cutout, (0, 0), cutout)
    return board


def render_overlay(result: SegmentationResult) -> Image.Image:
    """The photo beside the annotation painted over it, with a legend."""
    photo = Image.open(PHOTO).convert("RGB")
    painted = result.overlay(alpha=0.55, legend=True)
    gap = 8
    canvas = Image.new("RGB", (photo.width + gap + painted.width, painted.height), "white")
    canvas.paste(photo, (0, 0))
    canvas.paste(painted, (photo.width + gap, 0))
    return _titled(canvas, f"Left: the sample photo. Right: {TITLE}, drawn by result.overlay")


def render_crops(result: SegmentationResult) -> Image.Image:
    """The cut-outs of every annotated region, side by side, each named under it."""
    cutouts = result.crops(labels=["Upper-clothes", "Hair", "Face"], padding=2)
    pad, caption = 10, 20
    height = max(c.height for c in cutouts.values()) + caption + 2 * pad
    width = sum(c.width for c in cutouts.values()) + pad * (len(cutouts) + 1)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    left = pad
    for name, cutout in cutouts.items():
        canvas.paste(_on_checkerboard(cutout), (left, pad))
        draw.text((left, pad + cutout.height + 4), name, fill="black", font=_font(13))
        left += cutout.width + pad
    return _titled(canvas, f"result.crops(...): {TITLE}")


STAND_IN_SHIFT = 6
"""Pixels the stand-in prediction of the evaluation guide is shifted to the right."""


def stand_in_prediction(annotation: SegmentationResult) -> np.ndarray:
    """The evaluation guide's stand-in for a prediction: the annotation moved sideways."""
    return np.roll(annotation.label_map, STAND_IN_SHIFT, axis=1)


def render_evaluation(annotation: SegmentationResult) -> dict[str, Any]:
    """The plots of the evaluation guide (matplotlib figures), by file name."""
    from segformer_clothes.evaluation import evaluate, plot_comparison

    prediction = stand_in_prediction(annotation)
    report = evaluate([prediction], [annotation.label_map])
    title = (
        f"Stand-in prediction: the hand-made annotation shifted {STAND_IN_SHIFT} px right "
        "(not model output)"
    )
    iou = report.plot("iou")
    iou.suptitle(title, fontsize=9)
    confusion = report.plot("confusion")
    confusion.suptitle(title, fontsize=9)
    panel = plot_comparison(prediction, annotation.label_map, PHOTO, title=title)
    return {
        "evaluation_iou.png": iou,
        "evaluation_confusion.png": confusion,
        "evaluation_panel.png": panel,
    }


TRENDS_GUIDE = ROOT / "docs" / "guides" / "trends.md"
TRENDS_CHARTS = ("frequency", "co_occurrence", "colours", "coverage", "frequency_by_group")


def _run_trends_guide(folder: Path) -> None:
    """Run the trends guide's examples in ``folder``, as scripts/docs_examples.py runs them."""
    import importlib.util
    import os
    import sys

    spec = importlib.util.spec_from_file_location(
        "docs_examples", ROOT / "scripts" / "docs_examples.py"
    )
    assert spec is not None
    assert spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = runner  # its dataclasses look their module up by name
    spec.loader.exec_module(runner)
    for sample in (PHOTO, ANNOTATION):
        shutil.copyfile(sample, folder / sample.name)
    here = Path.cwd()
    os.chdir(folder)
    try:
        failures = runner.run_page(TRENDS_GUIDE)
    finally:
        os.chdir(here)
    if failures:
        raise SystemExit("the trends guide's examples failed:\n" + "\n".join(failures))


def render_trends_photos(folder: Path) -> Image.Image:
    """The trends guide's photos, each beside its label map painted over it."""
    height, gap, per_row = 200, 8, 4
    pairs = []
    for labels in sorted((folder / "catalogue" / "labels").glob("*.png")):
        result = SegmentationResult.load(labels)
        photo = Image.open(folder / str(result.source)).convert("RGB")
        painted = result.overlay(photo, alpha=0.6, outline=True)
        pair = Image.new("RGB", (2 * photo.width + 2, photo.height), "white")
        pair.paste(photo, (0, 0))
        pair.paste(painted, (photo.width + 2, 0))
        pairs.append(pair.resize((round(pair.width * height / pair.height), height)))
    rows = [pairs[i : i + per_row] for i in range(0, len(pairs), per_row)]
    width = max(sum(p.width for p in row) + gap * (len(row) - 1) for row in rows)
    canvas = Image.new("RGB", (width, len(rows) * (height + gap) - gap), "white")
    for number, row in enumerate(rows):
        left = 0
        for pair in row:
            canvas.paste(pair, (left, number * (height + gap)))
            left += pair.width + gap
    return _titled(
        canvas,
        "Each photo beside its label map, drawn by result.overlay: label maps drawn with the "
        "photos, or annotated by hand (not model output)",
    )


def render_trends() -> None:
    """Run the trends guide, then write its pictures: the photos, and the report's charts."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="trends-guide-") as name:
        folder = Path(name)
        _run_trends_guide(folder)
        render_trends_photos(folder).save(ASSETS / "trends_photos.png", optimize=True)
        for chart in TRENDS_CHARTS:
            shutil.copyfile(folder / "trends" / f"{chart}.png", ASSETS / f"trends_{chart}.png")


def main() -> None:
    photo_size = Image.open(PHOTO).size
    annotation = SegmentationResult(
        draw_annotation(photo_size), source="astronaut.jpg", image=PHOTO
    )
    annotation.save(ANNOTATION)
    ASSETS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PHOTO, ASSETS / "astronaut.jpg")
    shutil.copyfile(ANNOTATION, ASSETS / "astronaut_labels.png")
    render_overlay(annotation).save(ASSETS / "overlay.png", optimize=True)
    render_crops(annotation).save(ASSETS / "crops.png", optimize=True)
    for name, figure in render_evaluation(annotation).items():
        figure.savefig(ASSETS / name, dpi=80)
    render_trends()


if __name__ == "__main__":
    main()
