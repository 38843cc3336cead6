"""Turning inputs into uploads: formats sent as they are or converted, EXIF orientation,
``max_side``, and every bad input refused with `InvalidImageError` naming it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from segformer_clothes.errors import InvalidImageError
from segformer_clothes.images import (
    PHOTO_SUFFIXES,
    describe,
    image_size,
    load_image,
    prepare_upload,
    read_image_bytes,
)


def encoded(image: Image.Image, fmt: str, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


RGB = Image.new("RGB", (30, 20), "navy")


@pytest.mark.parametrize(
    ("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_jpeg_png_webp_are_sent_as_they_are(fmt, mime):
    data = encoded(RGB, fmt)
    upload = prepare_upload(data)
    assert upload.data == data
    assert upload.mime == mime
    assert upload.size == upload.sent_size == (30, 20)


@pytest.mark.parametrize(
    ("image", "fmt"),
    [
        (RGB, "BMP"),
        (RGB, "TIFF"),
        (RGB.convert("P"), "GIF"),
        (Image.new("CMYK", (30, 20)), "JPEG"),
        (Image.new("I;16", (30, 20)), "PNG"),
    ],
)
def test_other_formats_and_modes_become_png(image, fmt):
    upload = prepare_upload(encoded(image, fmt))
    assert upload.mime == "image/png"
    sent = Image.open(io.BytesIO(upload.data))
    assert sent.format == "PNG"
    assert sent.size == (30, 20)


def test_every_input_kind(tmp_path: Path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(encoded(RGB, "JPEG"))
    with path.open("rb") as file:
        inputs = [str(path), path, path.read_bytes(), bytearray(path.read_bytes()), file]
        for given in inputs:
            assert prepare_upload(given).mime == "image/jpeg"
    assert prepare_upload(RGB).mime == "image/png"
    for array in (np.zeros((20, 30, 3), np.uint8), np.zeros((20, 30), np.uint8)):
        upload = prepare_upload(array)
        assert upload.size == (30, 20)
    assert prepare_upload(np.ones((20, 30, 3), np.float32)).size == (30, 20)


def rotated_jpeg(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(Image.new("RGB", (60, 30), "white"), "JPEG", exif=exif.tobytes())


def test_exif_orientation_gives_the_size_people_see():
    data = rotated_jpeg()
    upload = prepare_upload(data)
    assert upload.data == data  # the server applies the orientation itself
    assert upload.size == (30, 60)
    assert image_size(data) == (30, 60)
    assert load_image(data).size == (30, 60)


def test_max_side_downscales_upright():
    upload = prepare_upload(rotated_jpeg(), max_side=20)
    assert upload.size == (30, 60)
    assert upload.sent_size == (10, 20)
    sent = Image.open(io.BytesIO(upload.data))
    assert sent.size == (10, 20)
    assert ImageOps.exif_transpose(sent).size == (10, 20)  # no orientation left to apply
    small = prepare_upload(RGB, max_side=100)
    assert small.sent_size == (30, 20)
    with pytest.raises(ValueError, match="max_side"):
        prepare_upload(RGB, max_side=0)


def test_bad_inputs_name_themselves(tmp_path: Path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(encoded(Image.new("RGB", (200, 200), "red"), "JPEG")[:300])
    cases = {
        tmp_path / "missing.jpg": "not found",
        tmp_path: "folder",
        empty: "empty",
        text: "not an image",
        truncated: "truncated",
    }
    for given, words in cases.items():
        with pytest.raises(InvalidImageError, match=words) as caught:
            prepare_upload(given)
        assert caught.value.source == str(given)
        assert str(given) in str(caught.value)
    with pytest.raises(InvalidImageError, match="array"):
        prepare_upload(np.zeros((2, 2, 7), np.uint8))
    with pytest.raises(InvalidImageError, match="cannot use"):
        prepare_upload(12345)  # type: ignore[arg-type]
    with pytest.raises(InvalidImageError, match="binary mode"):
        prepare_upload(io.StringIO("text"))  # type: ignore[arg-type]


def test_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(InvalidImageError, match="decompression bomb") as caught:
        prepare_upload(encoded(Image.new("L", (100, 100)), "PNG"))
    assert caught.value.source.endswith("bytes>")


def test_describe():
    assert describe(b"abc") == "<3 bytes>"
    assert describe(Path("a/b.jpg")) == str(Path("a/b.jpg"))
    assert describe(RGB) == "<PIL image RGB 30x20>"
    assert describe(np.zeros((2, 3), np.uint8)) == "<array uint8 2x3>"


def test_photo_suffixes_are_the_formats_read_from_folders():
    assert {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".jfif"} == set(
        PHOTO_SUFFIXES
    )
    assert isinstance(PHOTO_SUFFIXES, frozenset)
    assert all(suffix == suffix.lower() and suffix.startswith(".") for suffix in PHOTO_SUFFIXES)


def test_read_image_bytes_returns_the_file_byte_for_byte(tmp_path):
    data = encoded(RGB, "JPEG")
    path = tmp_path / "look.jpg"
    path.write_bytes(data)
    assert read_image_bytes(path) == data
    assert read_image_bytes(str(path)) == data
    assert read_image_bytes(memoryview(data)) == data
    with path.open("rb") as file:
        file.read(2)
        # A file object is read from where it stands, as any reader would.
        assert read_image_bytes(file) == data[2:]


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("missing.jpg", "file not found"),
        (RGB, "no encoded bytes"),
        (np.zeros((2, 2), np.uint8), "no encoded bytes"),
        (3.5, "cannot use a float"),
    ],
)
def test_read_image_bytes_refuses_what_has_no_encoded_bytes(tmp_path, image, message):
    with pytest.raises(InvalidImageError, match=message):
        read_image_bytes(tmp_path / image if isinstance(image, str) else image)


def test_read_image_bytes_refuses_a_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with path.open() as file, pytest.raises(InvalidImageError, match="binary mode"):
        read_image_bytes(file)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- 16-bit images

GRADIENT_8 = np.tile(np.arange(256, dtype=np.uint8), (3, 1))
GRADIENT_16 = (GRADIENT_8.astype(np.uint16) * 257).astype(np.uint16)  # 0..65535, full range


def sixteen_bit(mode: str) -> Image.Image:
    if mode == "I;16B":
        return Image.frombytes(mode, (256, 3), GRADIENT_16.astype(">u2").tobytes())
    if mode == "I":
        return Image.fromarray(GRADIENT_16.astype(np.int32))
    return Image.fromarray(GRADIENT_16)


def sent_pixels(upload_data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(upload_data)) as sent:
        return np.asarray(sent.convert("L")).astype(int)


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_a_16_bit_image_is_scaled_to_8_bits_not_clipped(mode: str) -> None:
    picture = sixteen_bit(mode)
    assert picture.mode == mode
    np.testing.assert_array_equal(np.asarray(picture).astype(np.int64), GRADIENT_16)
    # Pillow writes mode I as TIFF, not as PNG.
    files = [encoded(picture, fmt) for fmt in ("TIFF", "PNG")[: 1 if mode == "I" else 2]]
    for given in (picture, *files):
        upload = prepare_upload(given)
        assert upload.mime == "image/png"
        assert np.abs(sent_pixels(upload.data) - GRADIENT_8).max() <= 1
        drawn = np.asarray(load_image(given)).astype(int)
        assert np.abs(drawn - GRADIENT_8[:, :, None]).max() <= 1
    small = prepare_upload(files[0], max_side=128)
    assert sent_pixels(small.data).max() >= 250  # a gradient still, not all white
    assert sent_pixels(small.data).mean() == pytest.approx(127.5, abs=2)


def test_a_16_bit_png_opens_as_a_16_bit_image() -> None:
    # The test above relies on Pillow keeping the 16 bits of a grey PNG.
    with Image.open(io.BytesIO(encoded(Image.fromarray(GRADIENT_16), "PNG"))) as picture:
        assert picture.mode == "I;16"


@pytest.mark.parametrize("shape", [(3, 256), (3, 256, 3), (3, 256, 4)])
def test_a_uint16_array_is_scaled_to_8_bits(shape: tuple[int, ...]) -> None:
    array = GRADIENT_16 if len(shape) == 2 else np.repeat(GRADIENT_16[:, :, None], shape[2], 2)
    for given in (array, array.astype(">u2")):
        assert np.abs(sent_pixels(prepare_upload(given).data) - GRADIENT_8).max() <= 1
        drawn = np.asarray(load_image(given)).astype(int)
        assert np.abs(drawn - GRADIENT_8[:, :, None]).max() <= 1
