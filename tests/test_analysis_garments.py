"""`SegmentationResult.garments()`: records, colours measured on drawn photos, RLE, flags.

The colour tests draw garments of known colour (chosen away from the vocabulary's reference
colours) under uneven light and noise, with a seam of another colour at their edges that the
erosion must keep out, and measure the CIEDE2000 difference of what comes back.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from segformer_clothes import CLOTHES_LABELS, SegmentationResult

ID = CLOTHES_LABELS.id
# sRGB colours a few CIEDE2000 units away from any reference colour of the vocabulary.
# Each is 6 to 9 from the nearest and at least 5 farther from the second nearest.
TEST_COLOURS = {
    "Upper-clothes": (108, 15, 18),  # a burgundy
    "Pants": (50, 51, 93),  # a navy
    "Hat": (184, 145, 114),  # a camel
    "Bag": (114, 107, 20),  # an olive
    "Scarf": (172, 56, 140),  # a fuchsia
}


def shaded(photo: np.ndarray, seed: int = 3, noise: float = 5.0) -> np.ndarray:
    """Light that falls off from top to bottom (+-8%), then sensor noise."""
    rng = np.random.default_rng(seed)
    height = photo.shape[0]
    light = np.linspace(1.08, 0.92, height)[:, None, None]
    noisy = photo.astype(np.float64) * light + rng.normal(0, noise, photo.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def drawn_look(width: int = 240, height: int = 360) -> tuple[SegmentationResult, Image.Image]:
    """A person with five garments of TEST_COLOURS, skin, hair and a grey background; each
    garment's painted colour stops 2 pixels short of its mask, as a model's masks overshoot."""
    label_map = np.zeros((height, width), dtype=np.uint8)
    photo = np.full((height, width, 3), (200, 200, 200), dtype=np.uint8)
    parts = {
        "Hair": (10, 40, 90, 150),
        "Face": (40, 80, 95, 145),
        "Hat": (0, 20, 80, 160),
        "Upper-clothes": (80, 190, 60, 180),
        "Scarf": (80, 100, 95, 145),
        "Left-arm": (90, 190, 35, 60),
        "Right-arm": (90, 190, 180, 205),
        "Pants": (190, 320, 70, 170),
        "Left-shoe": (320, 345, 65, 115),
        "Right-shoe": (320, 345, 125, 175),
        "Bag": (150, 260, 190, 235),
    }
    for name, (top, bottom, left, right) in parts.items():
        label_map[top:bottom, left:right] = ID(name)
    skin, shoe = (224, 172, 140), (20, 20, 20)
    photo[label_map != 0] = skin
    photo[np.isin(label_map, [ID("Left-shoe"), ID("Right-shoe")])] = shoe
    photo[label_map == ID("Hair")] = (60, 40, 25)
    for name, colour in TEST_COLOURS.items():
        inner = label_map == ID(name)
        rows, columns = np.nonzero(inner)
        top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
        window = inner[top + 2 : bottom - 2, left + 2 : right - 2]
        photo[top + 2 : bottom - 2, left + 2 : right - 2][window] = colour
    picture = Image.fromarray(shaded(photo))
    return SegmentationResult(label_map, image=picture), picture


def lab(rgb: tuple[int, int, int]) -> np.ndarray:
    from segformer_clothes.analysis.colours import rgb_to_lab

    return rgb_to_lab(np.array(rgb, dtype=np.float64))


@pytest.mark.analysis
def test_test_colours_are_away_from_the_references_and_clearly_named() -> None:
    from segformer_clothes.analysis.colours import COLOUR_NAMES, colour_difference, hex_to_rgb

    references = np.stack([lab(hex_to_rgb(value)) for value in COLOUR_NAMES.values()])
    for colour in TEST_COLOURS.values():
        distances = np.sort(colour_difference(lab(colour)[None, :], references))
        assert distances[0] >= 6.0, f"{colour} is too close to a reference colour"
        assert distances[1] - distances[0] >= 5.0, f"{colour} lies between two names"


@pytest.mark.analysis
def test_drawn_garments_come_back_in_their_colour_and_name() -> None:
    from segformer_clothes.analysis.colours import colour_difference, name_colour

    result, _ = drawn_look()
    found = {garment.label: garment for garment in result.garments()}
    assert set(found) == {*TEST_COLOURS, "Left-shoe", "Right-shoe"}
    for label, colour in TEST_COLOURS.items():
        dominant = found[label].colours[0]
        difference = float(colour_difference(np.array(dominant.lab), lab(colour)))
        assert difference <= 5.0, f"{label}: {dominant} is {difference:.1f} from {colour}"
        assert dominant.name == name_colour(colour), label
        assert dominant.share >= 0.9, f"{label}: the edge leaked in: {found[label].colours}"
        assert dominant.hex == dominant.hex.lower()
        assert len(dominant.hex) == 7
    assert found["Left-shoe"].colours[0].name == "black"


@pytest.mark.analysis
def test_a_two_colour_garment_gives_both_colours_and_their_shares() -> None:
    from segformer_clothes.analysis.colours import colour_difference

    height, width = 300, 200
    label_map = np.zeros((height, width), dtype=np.uint8)
    label_map[20:280, 30:170] = ID("Dress")
    photo = np.full((height, width, 3), 230, dtype=np.uint8)
    top_colour, bottom_colour = TEST_COLOURS["Pants"], TEST_COLOURS["Hat"]
    photo[20:202, 30:170] = top_colour  # 182 of 260 rows: 70%
    photo[202:280, 30:170] = bottom_colour  # 30%
    result = SegmentationResult(label_map, image=Image.fromarray(shaded(photo)))
    (dress,) = result.garments()
    assert len(dress.colours) == 2
    first, second = dress.colours
    assert abs(first.share - 0.7) <= 0.05
    assert abs(second.share - 0.3) <= 0.05
    assert float(colour_difference(np.array(first.lab), lab(top_colour))) <= 5.0
    assert float(colour_difference(np.array(second.lab), lab(bottom_colour))) <= 5.0
    assert abs(first.share + second.share - 1.0) < 1e-9


@pytest.mark.analysis
def test_the_rle_of_each_garment_decodes_back_to_its_exact_mask() -> None:
    from segformer_clothes.analysis.colours import COLOUR_NAMES
    from segformer_clothes.formats.coco import decode_rle

    rng = np.random.default_rng(7)
    label_map = rng.integers(0, len(CLOTHES_LABELS), (37, 53)).astype(np.uint8)
    result = SegmentationResult(label_map)
    for merge_shoes in (False, True):
        garments = result.garments(colours=0, body=True, merge_shoes=merge_shoes)
        assert len(garments) == (16 if merge_shoes else 17)
        for garment in garments:
            assert garment.rle is not None
            assert isinstance(garment.rle["counts"], str)
            assert garment.rle["size"] == [37, 53]
            mask = decode_rle(garment.rle)
            assert np.array_equal(mask, result.mask(garment.label))
            assert garment.pixels == int(mask.sum())
            assert garment.bbox == result.bbox(garment.label)
            rows, columns = np.nonzero(mask)
            assert garment.centroid == pytest.approx((columns.mean(), rows.mean()))
            assert garment.colours == ()
    assert "navy" in COLOUR_NAMES


@pytest.mark.analysis
def test_shares_of_photo_and_person() -> None:
    label_map = np.zeros((10, 20), dtype=np.uint8)
    label_map[0:5, 0:4] = ID("Upper-clothes")  # 20 pixels
    label_map[5:10, 0:6] = ID("Left-leg")  # 30 pixels of person, not a garment
    (shirt,) = SegmentationResult(label_map).garments(colours=0)
    assert (shirt.label, shirt.pixels) == ("Upper-clothes", 20)
    assert shirt.photo_share == pytest.approx(20 / 200)
    assert shirt.person_share == pytest.approx(20 / 50)


@pytest.mark.analysis
def test_results_are_deterministic() -> None:
    result, picture = drawn_look()
    first = result.garments()
    again = SegmentationResult(result.label_map.copy(), image=picture.copy()).garments()
    assert first == again
    assert [g.colours for g in first] == [g.colours for g in again]


@pytest.mark.analysis
def test_merge_shoes_gives_one_shoes_garment() -> None:
    result, _ = drawn_look()
    separate = {g.label: g for g in result.garments(colours=1)}
    merged = {g.label: g for g in result.garments(colours=1, merge_shoes=True)}
    assert "shoes" not in separate
    assert {"Left-shoe", "Right-shoe"} <= set(separate)
    assert {"Left-shoe", "Right-shoe"}.isdisjoint(merged)
    shoes = merged["shoes"]
    assert shoes.pixels == separate["Left-shoe"].pixels + separate["Right-shoe"].pixels
    assert shoes.bbox == result.bbox("shoes")
    assert shoes.colours[0].name == "black"
    labels = [g.label for g in result.garments(colours=0, merge_shoes=True)]
    assert labels == ["Hat", "Upper-clothes", "Pants", "shoes", "Bag", "Scarf"]


@pytest.mark.analysis
def test_body_parts_only_when_asked_for() -> None:
    result, _ = drawn_look()
    default = {g.label for g in result.garments(colours=0)}
    with_body = {g.label for g in result.garments(colours=0, body=True)}
    body = {"Hair", "Face", "Left-arm", "Right-arm"}
    assert default.isdisjoint(body)
    assert with_body == default | body


@pytest.mark.analysis
def test_quality_flags_and_their_thresholds() -> None:
    from segformer_clothes.analysis import garments as module

    # A small person in a large photo, wearing a tiny hat.
    label_map = np.zeros((400, 400), dtype=np.uint8)
    label_map[100:180, 100:150] = ID("Upper-clothes")  # 4,000 px; person 4,100 < 5% of 160,000
    label_map[90:100, 120:130] = ID("Hat")  # 100 px < 500
    small = {g.label: g.flags for g in SegmentationResult(label_map).garments(colours=0)}
    assert small == {"Hat": ("small_person", "small_garment"), "Upper-clothes": ("small_person",)}
    assert module.photo_flags(label_map) == ("small_person",)
    # A large person: only the garment below the thresholds is flagged.
    label_map = np.zeros((100, 100), dtype=np.uint8)
    label_map[10:90, 10:90] = ID("Dress")
    label_map[0:10, 0:60] = ID("Hat")  # 600 px: enough pixels, and 8% of the person
    label_map[90:100, 0:3] = ID("Belt")  # 30 px
    flags = {g.label: g.flags for g in SegmentationResult(label_map).garments(colours=0)}
    assert flags == {"Hat": (), "Dress": (), "Belt": ("small_garment",)}
    # No person: no garment, and the photo says why.
    empty = np.zeros((50, 50), dtype=np.uint8)
    assert SegmentationResult(empty).garments(colours=0) == ()
    assert module.photo_flags(empty) == ("no_person",)
    assert module.SMALL_PERSON_SHARE == 0.05
    assert module.SMALL_GARMENT_PIXELS == 500
    assert module.SMALL_GARMENT_PERSON_SHARE == 0.005


@pytest.mark.analysis
def test_colours_need_the_photo_of_the_same_size() -> None:
    label_map = np.full((4, 6), ID("Pants"), dtype=np.uint8)
    with pytest.raises(ValueError, match="pass image="):
        SegmentationResult(label_map).garments()
    with pytest.raises(ValueError, match="the photo is 5x5 but the label map is 6x4"):
        SegmentationResult(label_map).garments(Image.new("RGB", (5, 5)))
    with pytest.raises(ValueError, match="colours must be 0 or more"):
        SegmentationResult(label_map).garments(colours=-1)
    (pants,) = SegmentationResult(label_map).garments(Image.new("RGB", (6, 4), "white"))
    assert [(c.name, c.share) for c in pants.colours] == [("white", 1.0)]


@pytest.mark.analysis
def test_a_label_set_without_groups_counts_every_class_but_background() -> None:
    from segformer_clothes import LabelSet

    labels = LabelSet(("background", "cat", "dog"))
    result = SegmentationResult(np.array([[0, 1], [2, 2]], dtype=np.uint8), labels=labels)
    assert [(g.label, g.pixels) for g in result.garments(colours=0)] == [("cat", 1), ("dog", 2)]


@pytest.mark.parametrize("module", ["scipy.ndimage", "skimage.color", "pycocotools.mask"])
def test_without_the_extra_garments_gives_the_install_command(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    label_map = np.full((4, 6), ID("Pants"), dtype=np.uint8)
    result = SegmentationResult(label_map, image=Image.new("RGB", (6, 4)))
    with pytest.raises(ImportError, match=r'pip install "segformer-clothes\[analysis\]"'):
        result.garments()


def test_the_analysis_package_imports_without_its_extra_libraries() -> None:
    code = (
        "import sys\n"
        "import segformer_clothes.analysis, segformer_clothes.formats.coco\n"
        "heavy = {'scipy', 'skimage', 'pycocotools', 'pyarrow'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
