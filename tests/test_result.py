from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from segformer_clothes import ResponseFormatError, SegmentationResult
from segformer_clothes.labels import CLOTHES_LABELS, LabelSet


def png_b64(array: np.ndarray, mode: str | None = None) -> str:
    picture = Image.fromarray(array)
    if mode is not None:
        picture = picture.convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def item(label: str, mask: np.ndarray, score: Any = 1.0) -> dict[str, Any]:
    return {
        "score": score,
        "label": label,
        "mask": png_b64(np.where(mask, 255, 0).astype(np.uint8)),
    }


def drawn_label_map() -> np.ndarray:
    """A 12x10 figure: hair, face, upper clothes, pants, two shoes, background around."""
    label_map = np.zeros((12, 10), dtype=np.uint8)
    label_map[0:2, 3:7] = 2  # Hair
    label_map[2:4, 3:7] = 11  # Face
    label_map[4:7, 2:8] = 4  # Upper-clothes
    label_map[7:10, 3:7] = 6  # Pants
    label_map[10:12, 3:5] = 9  # Left-shoe
    label_map[10:12, 5:7] = 10  # Right-shoe
    return label_map


def drawn_photo(label_map: np.ndarray) -> Image.Image:
    """A photo whose pixel colour says where it is, so crops can be checked exactly."""
    height, width = label_map.shape
    rows, cols = np.mgrid[0:height, 0:width]
    rgb = np.stack([rows * 10, cols * 20, label_map * 10], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb)


# --------------------------------------------------------------------------- construction


def test_label_map_is_read_only_uint8_copy() -> None:
    source = drawn_label_map()
    result = SegmentationResult(source)
    assert result.label_map.dtype == np.uint8
    assert not result.label_map.flags.writeable
    source[0, 0] = 17  # the caller's array stays the caller's
    assert result.label_map[0, 0] == 0
    with pytest.raises(ValueError, match="read-only"):
        result.label_map[0, 0] = 1


def test_int_label_maps_are_accepted() -> None:
    result = SegmentationResult(drawn_label_map().astype(np.int64))
    assert result.label_map.dtype == np.uint8


@pytest.mark.parametrize(
    ("label_map", "error", "match"),
    [
        (np.zeros((2, 2, 3), np.uint8), ValueError, "2-D"),
        (np.full((2, 2), 18, np.uint8), ValueError, "class id 18"),
        (np.full((2, 2), -1, np.int32), ValueError, "0..255"),
        (np.zeros((2, 2), np.float32), TypeError, "integer class ids"),
    ],
)
def test_bad_label_maps(label_map: np.ndarray, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        SegmentationResult(label_map)


def test_equality_and_repr() -> None:
    a = SegmentationResult(drawn_label_map(), source="a.jpg")
    assert a == SegmentationResult(drawn_label_map(), source="a.jpg")
    assert a != SegmentationResult(drawn_label_map(), source="b.jpg")
    assert a != SegmentationResult(np.zeros((12, 10), np.uint8), source="a.jpg")
    assert a != SegmentationResult(np.zeros((10, 12), np.uint8), source="a.jpg")
    assert "10x12" in repr(a)
    assert "Upper-clothes" in repr(a)


# --------------------------------------------------------------------------- masks


def test_masks_coverage_and_labels_present() -> None:
    result = SegmentationResult(drawn_label_map())
    assert result.labels_present == (
        "Background",
        "Hair",
        "Upper-clothes",
        "Pants",
        "Left-shoe",
        "Right-shoe",
        "Face",
    )
    assert set(result.masks) == set(result.labels_present)
    for name, mask in result.masks.items():
        assert mask.dtype == bool
        assert np.array_equal(mask, result.label_map == CLOTHES_LABELS.id(name))
    coverage = result.coverage()
    assert coverage["Upper-clothes"] == pytest.approx(18 / 120)
    assert coverage["Left-shoe"] == pytest.approx(4 / 120)
    assert sum(coverage.values()) == pytest.approx(1.0)
    assert "Dress" not in coverage


def test_mask_by_name_id_and_group() -> None:
    result = SegmentationResult(drawn_label_map())
    assert np.array_equal(result.mask("pants"), result.mask(6))
    shoes = result.mask("shoes")
    assert shoes.sum() == 8
    assert np.array_equal(shoes, result.mask("Left-shoe") | result.mask("Right-shoe"))
    assert result.mask("dress").sum() == 0
    garments = result.mask("garments")
    assert garments.sum() == 18 + 12 + 8
    with pytest.raises(KeyError, match="valid labels"):
        result.mask("shirt")


def test_bbox_is_a_pil_box() -> None:
    result = SegmentationResult(drawn_label_map())
    assert result.bbox("Upper-clothes") == (2, 4, 8, 7)
    assert result.bbox("shoes") == (3, 10, 7, 12)
    assert result.bbox("Dress") is None
    # A PIL crop of the box holds exactly the label's rows and columns.
    photo = Image.fromarray(result.label_map)
    box = result.bbox("Pants")
    assert box is not None
    assert np.all(np.asarray(photo.crop(box)) == 6)


# --------------------------------------------------------------------------- parsing


def test_from_response_builds_the_label_map() -> None:
    label_map = drawn_label_map()
    payload = [item(CLOTHES_LABELS.name(i), label_map == i) for i in np.unique(label_map)]
    result = SegmentationResult.from_response(payload)
    assert np.array_equal(result.label_map, label_map)
    assert result.labels is CLOTHES_LABELS


@pytest.mark.parametrize("score", [1, 1.0, None, 0.73, "absent"])
def test_score_may_be_missing_null_one_or_float(score: Any) -> None:
    entry = item("Hat", np.ones((3, 3), bool), score=score)
    if score == "absent":
        del entry["score"]
    result = SegmentationResult.from_response([entry])
    assert result.labels_present == ("Hat",)


def test_payload_may_be_bytes_or_text() -> None:
    payload = [item("Hat", np.eye(4, dtype=bool)), item("Background", ~np.eye(4, dtype=bool))]
    expected = SegmentationResult.from_response(payload)
    assert SegmentationResult.from_response(json.dumps(payload)) == expected
    assert SegmentationResult.from_response(json.dumps(payload).encode()) == expected


def test_threshold_is_128() -> None:
    mask = np.array([[0, 127, 128, 255]], dtype=np.uint8)
    entry = {"label": "Hat", "mask": png_b64(mask)}
    result = SegmentationResult.from_response([entry])
    assert result.label_map.tolist() == [[0, 0, 1, 1]]


def test_overlaps_go_to_the_highest_id_and_uncovered_pixels_to_background() -> None:
    hat = np.array([[1, 1, 0, 0]], bool)
    scarf = np.array([[0, 1, 1, 0]], bool)
    # Given in descending order on purpose: order in the answer must not matter.
    result = SegmentationResult.from_response([item("Scarf", scarf), item("Hat", hat)])
    assert result.label_map.tolist() == [[1, 17, 17, 0]]


def test_background_mask_never_erases_a_garment() -> None:
    result = SegmentationResult.from_response(
        [item("Hat", np.array([[1, 0]], bool)), item("Background", np.array([[1, 1]], bool))]
    )
    assert result.label_map.tolist() == [[1, 0]]


def test_masks_of_another_size_are_resized_nearest_to_the_photo() -> None:
    small = np.zeros((2, 2), bool)
    small[0, 0] = True
    result = SegmentationResult.from_response([item("Hat", small)], size=(4, 6))
    assert result.size == (4, 6)
    expected = np.zeros((6, 4), np.uint8)
    expected[:3, :2] = 1
    assert np.array_equal(result.label_map, expected)


def test_size_is_taken_from_the_image(tmp_path: Path) -> None:
    photo = tmp_path / "look.png"
    Image.new("RGB", (8, 4)).save(photo)
    result = SegmentationResult.from_response([item("Hat", np.ones((2, 4), bool))], image=photo)
    assert result.size == (8, 4)
    assert result.source == photo
    assert result.image == photo


def test_mode_1_masks_are_accepted() -> None:
    entry = {"label": "Hat", "mask": png_b64(np.array([[255, 0]], np.uint8), mode="1")}
    assert SegmentationResult.from_response([entry]).label_map.tolist() == [[1, 0]]


def test_other_label_sets() -> None:
    labels = LabelSet(["background", "person"])
    result = SegmentationResult.from_response(
        [item("person", np.array([[1, 0]], bool))], labels=labels
    )
    assert result.labels is labels
    assert result.labels_present == ("background", "person")


BAD_RESPONSES: list[tuple[Any, str]] = [
    (b"<html>502 Bad Gateway</html>", "not JSON"),
    ('{"error": "Model is overloaded"}', "got an object: Model is overloaded"),
    ("42", "got int"),
    ("[]", "empty list"),
    ('["Hat"]', "item 0 is a str"),
    ('[{"mask": "AAAA"}]', "no 'label'"),
    ('[{"label": "Hat"}]', "no 'mask'"),
    ('[{"label": 3, "mask": "AAAA"}]', "'label' is int"),
    ('[{"label": "Hat", "mask": 7}]', "'mask' is int"),
    ('[{"label": "Hat", "mask": "AAAA", "score": "high"}]', "'score' is 'high'"),
    ('[{"label": "Hat", "mask": "not base64!"}]', "not valid base64"),
    (json.dumps([{"label": "Hat", "mask": base64.b64encode(b"GIF89 junk").decode()}]), "readable"),
]


@pytest.mark.parametrize(("payload", "match"), BAD_RESPONSES)
def test_bad_responses_say_what_is_wrong(payload: Any, match: str) -> None:
    with pytest.raises(ResponseFormatError, match=match):
        SegmentationResult.from_response(payload)


def test_a_mask_in_an_unexpected_mode() -> None:
    rgb = np.zeros((2, 2, 3), np.uint8)
    with pytest.raises(ResponseFormatError, match="mode RGB.*mode L"):
        SegmentationResult.from_response([{"label": "Hat", "mask": png_b64(rgb)}])


def test_masks_of_different_sizes() -> None:
    payload = [item("Hat", np.ones((2, 2), bool)), item("Hair", np.ones((3, 2), bool))]
    with pytest.raises(ResponseFormatError, match="different sizes: 'Hair' is 2x3"):
        SegmentationResult.from_response(payload)


def test_unknown_label_is_named_with_the_known_set() -> None:
    with pytest.raises(ResponseFormatError, match="unknown label 'Shirt'.*Upper-clothes"):
        SegmentationResult.from_response([item("Shirt", np.ones((2, 2), bool))])


# --------------------------------------------------------------------------- round trips

label_maps = arrays(
    np.uint8,
    st.tuples(st.integers(1, 24), st.integers(1, 24)),
    elements=st.integers(0, 17),
)


@settings(max_examples=60, deadline=None)
@given(label_maps)
def test_label_map_to_response_and_back_is_exact(label_map: np.ndarray) -> None:
    result = SegmentationResult(label_map)
    response = result.to_response()
    assert [entry["label"] for entry in response] == list(result.labels_present)
    assert all(entry["score"] == 1.0 for entry in response)
    assert SegmentationResult.from_response(json.dumps(response)) == result


@settings(max_examples=30, deadline=None)
@given(label_maps, st.sampled_from([None, "photo.jpg", Path("shop/look 1.png")]))
def test_save_then_load_is_exact(label_map: np.ndarray, source: Any) -> None:
    import tempfile

    result = SegmentationResult(label_map, source=source)
    with tempfile.TemporaryDirectory() as folder:
        path = result.save(Path(folder) / "labels.png")
        loaded = SegmentationResult.load(path)
    assert loaded == result
    assert type(loaded.source) is type(source)


def test_saved_png_is_a_viewable_palette_label_map(tmp_path: Path) -> None:
    path = SegmentationResult(drawn_label_map()).save(tmp_path / "x.png")
    with Image.open(path) as picture:
        assert picture.mode == "P"
        assert np.array_equal(np.asarray(picture), drawn_label_map())
        assert picture.getpalette()[3 * 4 : 3 * 5] == list(CLOTHES_LABELS.color(4))


def test_other_label_sets_survive_save_and_load(tmp_path: Path) -> None:
    labels = LabelSet(["bg", "cat", "dog"], groups={"pets": (1, 2)}, palette=[(1, 2, 3)])
    result = SegmentationResult(np.array([[0, 1, 2]], np.uint8), labels=labels, source="x")
    loaded = SegmentationResult.load(result.save(tmp_path / "pets.png"))
    assert loaded == result
    assert loaded.labels.ids("pets") == (1, 2)


def test_plain_label_map_png_loads_as_clothes(tmp_path: Path) -> None:
    Image.fromarray(drawn_label_map()).save(tmp_path / "plain.png")
    loaded = SegmentationResult.load(tmp_path / "plain.png")
    assert loaded.labels is CLOTHES_LABELS
    assert np.array_equal(loaded.label_map, drawn_label_map())


def test_an_rgb_png_is_not_a_label_map(tmp_path: Path) -> None:
    Image.new("RGB", (2, 2)).save(tmp_path / "colour.png")
    with pytest.raises(ValueError, match="RGB image, not a label map"):
        SegmentationResult.load(tmp_path / "colour.png")


# --------------------------------------------------------------------------- pictures


def test_overlay_blends_pixel_by_pixel_and_leaves_the_callers_image() -> None:
    label_map = drawn_label_map()
    photo = drawn_photo(label_map)
    before = np.asarray(photo).copy()
    result = SegmentationResult(label_map)
    picture = result.overlay(photo, alpha=0.25)
    assert np.array_equal(np.asarray(photo), before)
    assert picture is not photo
    assert picture.size == photo.size
    assert picture.mode == "RGB"
    out = np.asarray(picture).astype(float)
    colours = np.array(CLOTHES_LABELS.palette, float)[label_map]
    expected = np.where(
        (label_map != 0)[:, :, None], 0.75 * before + 0.25 * colours, before.astype(float)
    )
    assert np.abs(out - expected).max() <= 0.5 + 1e-6


def test_overlay_extremes_and_background() -> None:
    label_map = drawn_label_map()
    photo = drawn_photo(label_map)
    result = SegmentationResult(label_map, image=photo)
    assert np.array_equal(np.asarray(result.overlay(alpha=0)), np.asarray(photo))
    full = np.asarray(result.overlay(alpha=1, include_background=True))
    assert np.array_equal(full, np.asarray(result.colorize()))
    with pytest.raises(ValueError, match="alpha"):
        result.overlay(alpha=1.5)


def test_overlay_with_legend_is_wider_and_keeps_the_picture() -> None:
    label_map = drawn_label_map()
    photo = drawn_photo(label_map)
    result = SegmentationResult(label_map, image=photo)
    plain = result.overlay()
    with_legend = result.overlay(legend=True)
    assert with_legend.width > plain.width
    assert np.array_equal(np.asarray(with_legend)[: plain.height, : plain.width], np.asarray(plain))
    # Each present label's colour appears as a swatch in the legend strip.
    strip = np.asarray(with_legend)[:, plain.width :].reshape(-1, 3)
    for name in result.labels_present[1:]:
        assert (strip == CLOTHES_LABELS.color(name)).all(axis=1).any(), name


def test_photo_is_needed_and_must_match() -> None:
    result = SegmentationResult(drawn_label_map())
    with pytest.raises(ValueError, match="keeps no photo"):
        result.overlay()
    with pytest.raises(ValueError, match="photo is 5x5 but the label map is 10x12"):
        result.overlay(Image.new("RGB", (5, 5)))


def test_crop_cuts_the_garment_out() -> None:
    label_map = drawn_label_map()
    photo = drawn_photo(label_map)
    result = SegmentationResult(label_map, image=photo)
    cutout = result.crop("Upper-clothes")
    assert cutout is not None
    assert cutout.mode == "RGBA"
    assert cutout.size == (6, 3)
    rgba = np.asarray(cutout)
    assert np.array_equal(rgba[:, :, :3], np.asarray(photo)[4:7, 2:8])
    assert np.all(rgba[:, :, 3] == 255)
    assert result.crop("Dress") is None


def test_crop_padding_is_transparent_and_clipped() -> None:
    label_map = drawn_label_map()
    photo = drawn_photo(label_map)
    result = SegmentationResult(label_map, image=photo)
    cutout = result.crop("shoes", padding=1)
    assert cutout is not None
    # Box (3, 10, 7, 12) grown by 1 and clipped at the bottom edge (height 12).
    assert cutout.size == (6, 3)
    alpha = np.asarray(cutout)[:, :, 3]
    assert alpha[0].max() == 0  # the padding row above the shoes is transparent
    assert alpha[1:, 1:5].min() == 255
    assert alpha[:, 0].max() == 0
    with pytest.raises(ValueError, match="padding"):
        result.crop("shoes", padding=-1)


def test_crops_of_the_garments_present(tmp_path: Path) -> None:
    label_map = drawn_label_map()
    path = tmp_path / "photo.png"
    drawn_photo(label_map).save(path)
    result = SegmentationResult(label_map, image=path)
    cutouts = result.crops()
    assert set(cutouts) == {"Upper-clothes", "Pants", "Left-shoe", "Right-shoe"}
    assert all(c.mode == "RGBA" for c in cutouts.values())
    assert set(result.crops(labels=["Hair", "Dress"])) == {"Hair"}
    assert result.crops(labels="body").keys() == {"Hair", "Face"}


def test_photo_is_kept_lazily(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    drawn_photo(drawn_label_map()).save(path)
    result = SegmentationResult(drawn_label_map(), image=path)
    # The result holds the path, not decoded pixels; decoding happens per call.
    assert result.image == path
    path.unlink()
    with pytest.raises(Exception, match="not found"):
        result.overlay()


def test_a_notebook_shows_a_small_overlay_with_its_legend() -> None:
    import io

    label_map = np.zeros((600, 900), dtype=np.uint8)
    label_map[100:500, 300:600] = 4  # Upper-clothes
    photo = Image.new("RGB", (900, 600), "white")
    with_photo = SegmentationResult(label_map, image=photo)
    with Image.open(io.BytesIO(with_photo._repr_png_())) as shown:
        assert shown.format == "PNG"
        assert max(shown.size) == 512
        assert shown.width > 512 * 900 / (900 + 600)  # wider than the photo alone: a legend
    without_photo = SegmentationResult(label_map)
    with Image.open(io.BytesIO(without_photo._repr_png_())) as shown:
        assert shown.size == (512, round(512 * 600 / 900))
        assert shown.getpixel((256, 170)) == without_photo.labels.color(4)


def test_outline_draws_each_garments_edge_in_its_colour() -> None:
    label_map = np.zeros((100, 100), dtype=np.uint8)
    label_map[20:80, 30:70] = 4  # Upper-clothes
    result = SegmentationResult(label_map)
    colour = result.labels.color(4)
    # A white photo and a transparent tint: only the outline shows.
    picture = result.overlay(Image.new("RGB", (100, 100), "white"), alpha=0.0, outline=True)
    assert picture.getpixel((30, 50)) == colour  # on the edge
    assert picture.getpixel((50, 50)) == (255, 255, 255)  # inside
    assert picture.getpixel((5, 5)) == (255, 255, 255)  # outside
    plain = result.overlay(Image.new("RGB", (100, 100), "white"), alpha=0.0)
    assert plain.getpixel((30, 50)) == (255, 255, 255)


def test_the_outline_and_the_legend_grow_with_the_photo() -> None:
    def drawn(size: int) -> tuple[int, int]:
        label_map = np.zeros((size, size), dtype=np.uint8)
        label_map[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 4
        result = SegmentationResult(label_map)
        photo = Image.new("RGB", (size, size), "white")
        lines = np.asarray(result.overlay(photo, alpha=0.0, outline=True))
        row = lines[size // 2]
        thickness = int(np.sum(np.any(row != 255, axis=-1)))
        legend = result.overlay(photo, legend=True).width - size
        return thickness, legend

    small, large = drawn(400), drawn(2000)
    assert large[0] > small[0]
    assert large[1] > 2 * small[1]


def test_to_supervision_without_the_package_says_how_to_install_it(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "supervision", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r'pip install "segformer-clothes\[supervision\]"'):
        SegmentationResult(np.zeros((2, 2), np.uint8)).to_supervision()
