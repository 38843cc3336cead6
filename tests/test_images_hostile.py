"""Hostile inputs: every problem with an input is an `InvalidImageError` naming the input,
raised before any request, and a batch goes on past it. Special files are refused without
being opened, URLs are refused without being fetched, and arbitrary bytes or arrays either
load or give `InvalidImageError` (property-based)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from segformer_clothes import SegformerClothesClient
from segformer_clothes.errors import InvalidImageError
from segformer_clothes.images import image_size, load_image, prepare_upload, read_image_bytes
from segformer_clothes.testing import FakeInferenceServer

READERS: list[Callable[[Any], object]] = [prepare_upload, load_image, image_size]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def photo_path(tmp_path: Path) -> Path:
    path = tmp_path / "look.png"
    path.write_bytes(png(Image.new("RGB", (8, 6), "teal")))
    return path


def refused(image: object, *words: str) -> InvalidImageError:
    """Check that every reader refuses ``image`` with InvalidImageError saying ``words``."""
    error: InvalidImageError | None = None
    encoded = not isinstance(image, np.ndarray)  # arrays have no bytes for read_image_bytes
    for reader in [*READERS, read_image_bytes] if encoded else READERS:
        with pytest.raises(InvalidImageError) as caught:
            reader(image)
        error = caught.value
        for word in words:
            assert word in error.message, (reader.__name__, error.message)
        assert error.source is not None
    assert error is not None
    return error


# ---------------------------------------------------------------------- file objects


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "ascii"])
def test_a_text_mode_file_is_refused_whatever_its_content(photo_path: Path, encoding: str) -> None:
    # latin-1 decodes any byte, utf-8 and ascii fail on a PNG: the answer must not depend on it.
    with photo_path.open(encoding=encoding) as file:
        error = refused(file, "text mode", "binary mode ('rb')")
        assert error.source == str(photo_path)
        assert file.tell() == 0  # refused before reading


def test_a_text_file_object_holding_plain_text_is_refused() -> None:
    refused(io.StringIO("hello"), "text mode")


def test_a_write_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "out.jpg"
    with path.open("wb") as file:
        error = refused(file, "writing only", "open it for reading")
    assert error.source == str(path)


def test_a_closed_file_is_refused(photo_path: Path) -> None:
    file = photo_path.open("rb")
    file.close()
    refused(file, "closed")


class Raising:
    def read(self) -> bytes:
        raise RuntimeError("the disk went away")


class GivingText:
    def read(self) -> str:
        return "GIF89a"


class GivingNumber:
    def read(self) -> int:
        return 7


class GivingNone:
    """A non-blocking stream with nothing ready answers None."""

    def read(self) -> None:
        return None


def test_a_file_object_whose_read_fails_is_refused() -> None:
    error = refused(Raising(), "reading the file object failed", "RuntimeError", "went away")
    assert error.source == "<Raising>"
    assert isinstance(error.__cause__, RuntimeError)


@pytest.mark.parametrize(
    ("reader", "words"),
    [(GivingText(), "text mode"), (GivingNumber(), "gave int"), (GivingNone(), "gave NoneType")],
)
def test_a_file_object_that_gives_no_bytes_is_refused(reader: object, words: str) -> None:
    refused(reader, words)


class Giving:
    def __init__(self, data: object) -> None:
        self.data = data

    def read(self) -> object:
        return self.data


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_a_file_object_may_give_any_bytes_like(kind: Callable[[bytes], object]) -> None:
    data = png(Image.new("RGB", (8, 6), "teal"))
    assert prepare_upload(Giving(kind(data))).data == data  # type: ignore[arg-type]
    assert load_image(Giving(kind(data))).size == (8, 6)  # type: ignore[arg-type]
    assert read_image_bytes(Giving(kind(data))) == data  # type: ignore[arg-type]


# ---------------------------------------------------------------------- paths


def test_a_name_too_long_for_the_file_system_is_refused() -> None:
    name = "x" * 5000 + ".jpg"
    error = refused(name, "too long", "5004 characters", "check the path")
    assert error.source == name


def test_a_path_with_a_nul_character_is_refused() -> None:
    refused("look\0.jpg", "not a usable path")


def test_a_path_through_a_file_is_not_found(photo_path: Path) -> None:
    refused(photo_path / "inner.jpg", "file not found")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/look.jpg",
        "http://example.com/look.jpg?size=large",
        "s3://bucket/photos/look.jpg",
        "gs://bucket/look.png",
        "https://example.com/" + "a" * 3000 + ".jpg",  # too long for a file name as well
    ],
)
def test_a_url_is_not_fetched(url: str) -> None:
    error = refused(url, "URL", "not fetched", "download it first")
    assert "not found" not in error.message
    assert error.source == url
    # A Path made from a URL keeps one slash of the two: still a URL.
    refused(Path(url), "download it first")


def test_a_windows_drive_or_a_colon_in_a_name_is_not_a_url(tmp_path: Path) -> None:
    refused("C:/photos/look.jpg", "file not found")
    odd = tmp_path / "at 10:30.png"
    odd.write_bytes(png(Image.new("L", (3, 2))))
    assert image_size(odd) == (3, 2)


@pytest.mark.timeout(10)
def test_a_character_device_is_refused() -> None:
    error = refused("/dev/null", "is a device", "not a regular file")
    assert error.source == "/dev/null"
    refused(Path("/dev/null"), "is a device")
    with open("/dev/null", "rb") as opened:
        refused(opened, "is a device")


# Reading /dev/zero never ends and fills the memory: checked in a child process whose memory is
# capped, so that a regression fails this test instead of taking the machine down.
ENDLESS_DEVICE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from segformer_clothes.errors import InvalidImageError
from segformer_clothes.images import prepare_upload
with open("/dev/zero", "rb") as opened:
    for given in ("/dev/zero", opened):
        try:
            prepare_upload(given)
        except InvalidImageError as error:
            print(error.message)
"""


@pytest.mark.timeout(60)
def test_an_endless_device_is_refused_without_reading() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ENDLESS_DEVICE],
        capture_output=True,
        text=True,
        timeout=50,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("is a device, not a regular file") == 2, done.stdout


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # Opening a FIFO for reading waits for a writer: this test hangs if the FIFO is opened.
    error = refused(fifo, "named pipe (FIFO)", "not a regular file")
    assert error.source == str(fifo)


@pytest.mark.timeout(10)
def test_a_photo_name_linked_to_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    disguised = tmp_path / "look.jpg"
    disguised.symlink_to(fifo)
    refused(disguised, "named pipe (FIFO)")
    refused(str(disguised), "named pipe (FIFO)")


def test_a_pipe_opened_by_the_caller_is_read(tmp_path: Path) -> None:
    # Standard input is a pipe when a photo is piped in: that stays a fine source.
    data = png(Image.new("RGB", (5, 4), "red"))
    reading, writing = os.pipe()
    with os.fdopen(writing, "wb") as writer:
        writer.write(data)
    with os.fdopen(reading, "rb") as reader:
        assert prepare_upload(reader).data == data


# ---------------------------------------------------------------------- arrays


@pytest.mark.parametrize(
    "array",
    [
        np.array([["a", "b"], ["c", "d"]]),
        np.array([[b"a", b"b"], [b"c", b"d"]]),
        np.array([[1, None], [2, 3]], dtype=object),
        np.array([[1, 2], [3, 4]], dtype=object),  # objects, even numeric ones
        np.zeros((2, 2), dtype=np.complex64),
        np.zeros((2, 2), dtype="datetime64[s]"),
    ],
    ids=["str", "bytes", "objects", "numeric-objects", "complex", "datetime"],
)
def test_an_array_of_non_numbers_is_refused(array: np.ndarray) -> None:
    error = refused(array, "must hold numbers", str(array.dtype), ".astype(np.uint8)")
    assert error.source.startswith("<array ")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_nan_or_infinity_in_a_float_array_is_refused(bad: float, dtype: type) -> None:
    array = np.full((4, 5, 3), 0.5, dtype=dtype)
    array[1, 2, 0] = bad
    refused(array, "NaN or infinite", "np.nan_to_num")


def test_a_boolean_array_is_black_and_white() -> None:
    mask = np.array([[True, False]])
    assert np.asarray(load_image(mask))[:, :, 0].tolist() == [[255, 0]]


# ---------------------------------------------------------------------- batches


@pytest.fixture
def bad_inputs(tmp_path: Path, photo_path: Path) -> Iterator[list[object]]:
    """One input of every kind the readers refuse."""
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with (
        photo_path.open("r", encoding="latin-1") as text_file,
        (tmp_path / "out.jpg").open("wb") as write_only,
    ):
        yield [
            text_file,
            write_only,
            Raising(),
            np.array([["a"]]),
            np.full((2, 2), np.nan),
            "x" * 5000,
            "https://example.com/look.jpg",
            fifo,
            "/dev/null",
        ]


def check_batch(outcomes: list[Any], images: list[object]) -> None:
    assert [type(o).__name__ for o in outcomes] == [
        "SegmentationResult",
        *["InvalidImageError"] * (len(images) - 2),
        "SegmentationResult",
    ]
    for image, outcome in zip(images[1:-1], outcomes[1:-1], strict=True):
        assert outcome.source is not None
        if isinstance(image, (str, Path)):
            assert outcome.source == image


@pytest.mark.timeout(60)
def test_a_client_batch_goes_on_past_every_kind_of_bad_input(
    photo_path: Path, bad_inputs: list[object]
) -> None:
    images: list[Any] = [photo_path, *bad_inputs, photo_path.read_bytes()]

    async def collect(url: str) -> list[Any]:
        async with SegformerClothesClient(endpoint_url=url, token=None, max_retries=0) as client:
            return [o async for o in client.asegment_many(images, return_exceptions=True)]

    with FakeInferenceServer() as server:
        with SegformerClothesClient(endpoint_url=server.url, token=None, max_retries=0) as client:
            check_batch(list(client.segment_many(images, return_exceptions=True)), images)
        assert server.requests == 2  # the bad inputs were refused before any request
        check_batch(asyncio.run(collect(server.url)), images)
        assert server.requests == 4


@pytest.mark.local
@pytest.mark.timeout(120)
def test_a_local_batch_goes_on_past_every_kind_of_bad_input(
    tmp_path: Path, photo_path: Path, bad_inputs: list[object]
) -> None:
    from segformer_clothes.local import LocalSegmenter
    from segformer_clothes.testing import save_random_segformer

    segmenter = LocalSegmenter(save_random_segformer(tmp_path / "model"), device="cpu")
    images: list[Any] = [photo_path, *bad_inputs, photo_path.read_bytes()]
    check_batch(list(segmenter.segment_many(images, return_exceptions=True)), images)


# ---------------------------------------------------------------------- properties


def outcome_of(reader: Callable[[Any], object], image: object) -> object:
    """What a reader gives: a value, or the InvalidImageError it raised; nothing else escapes."""
    try:
        return reader(image)
    except InvalidImageError as error:
        caught = error
    assert caught.source is not None
    assert caught.message
    return caught


def check_consistent(image: object, fresh: Callable[[], object] | None = None) -> None:
    """All three readers agree on whether the input is an image, and on its size. ``fresh``
    makes a new input for each reader (a file object is used up by reading it)."""
    outcomes = [outcome_of(reader, image if fresh is None else fresh()) for reader in READERS]
    failed = [isinstance(o, InvalidImageError) for o in outcomes]
    upload, picture, size = outcomes
    if not any(failed):
        assert isinstance(picture, Image.Image)
        assert picture.mode == "RGB"
        assert upload.size == picture.size == size  # type: ignore[attr-defined]
        with Image.open(io.BytesIO(upload.data)) as sent:  # type: ignore[attr-defined]
            sent.load()
    else:
        # image_size reads only the header, so it may succeed where decoding the pixels fails.
        assert failed[0] == failed[1], outcomes


def sample_files() -> Iterator[bytes]:
    exif = Image.Exif()
    exif[0x0112] = 6
    picture = Image.linear_gradient("L").resize((12, 8)).convert("RGB")
    for fmt, extra in [
        ("JPEG", {"exif": exif.tobytes()}),
        ("PNG", {}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("WEBP", {}),
    ]:
        buffer = io.BytesIO()
        picture.save(buffer, format=fmt, **extra)
        yield buffer.getvalue()


SAMPLES = list(sample_files())
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.binary(max_size=600))
def test_arbitrary_bytes_load_or_raise_invalid_image_error(data: bytes) -> None:
    check_consistent(data)


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    """A real image file with a few bytes changed and maybe cut short: headers that parse,
    pixel data that does not, the inputs that reach deepest into the decoders."""
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@PROPERTY
@given(damaged_files())
def test_damaged_files_load_or_raise_invalid_image_error(data: bytes) -> None:
    check_consistent(data)
    check_consistent(None, lambda: io.BytesIO(data))


dtypes = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.unicode_string_dtypes(max_len=3),
    hnp.byte_string_dtypes(max_len=3),
    hnp.datetime64_dtypes(),
)
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@PROPERTY
@given(hnp.arrays(dtypes, shapes))
def test_arbitrary_arrays_load_or_raise_invalid_image_error(array: np.ndarray) -> None:
    check_consistent(array)
    outcome = outcome_of(load_image, array)
    if isinstance(outcome, Image.Image):
        assert outcome.size == (array.shape[1], array.shape[0])


objects = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=2), st.binary())


@PROPERTY
@given(hnp.arrays(object, hnp.array_shapes(min_dims=2, max_dims=3, max_side=4), elements=objects))
def test_arrays_of_objects_raise_invalid_image_error(array: np.ndarray) -> None:
    for reader in READERS:
        assert isinstance(outcome_of(reader, array), InvalidImageError)


def test_the_damaged_files_start_from_real_images() -> None:
    # The property above means little unless the undamaged files are images.
    for data in SAMPLES:
        check_consistent(data)
        assert load_image(data).size in {(12, 8), (8, 12)}
