"""LocalSegmenter against small random-weight SegFormers saved to a folder (no download).

Every test here needs torch and transformers (the ``local`` extra): they carry the ``local``
marker and run in the ``tests_local`` nox session. torch is imported inside the tests, so that
collecting this file without torch (``pytest -m "not local"``) works.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import AsyncIterator, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from segformer_clothes import CLOTHES_LABELS, SegmentationResult
from segformer_clothes.errors import InvalidImageError, ModelNotFoundError
from segformer_clothes.local import LocalSegmenter

pytestmark = pytest.mark.local

OTHER_LABELS = ("road", "car", "person", "tree")


def save_model(folder: Path, **options: Any) -> Path:
    from segformer_clothes.testing import save_random_segformer

    return save_random_segformer(folder, **options)


@pytest.fixture(scope="module")
def clothes_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SegFormer with the 18 clothes labels, random weights, saved to a folder."""
    return save_model(tmp_path_factory.mktemp("clothes_model"))


@pytest.fixture(scope="module")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SegFormer whose classes are not the clothes ones."""
    return save_model(tmp_path_factory.mktemp("other_model"), labels=OTHER_LABELS, seed=1)


@pytest.fixture(scope="module")
def segmenter(clothes_model: Path) -> LocalSegmenter:
    return LocalSegmenter(clothes_model, device="cpu", batch_size=3)


@pytest.fixture(scope="module")
def pipe(clothes_model: Path) -> Any:
    """The transformers image-segmentation pipeline on the same folder: the reference."""
    from transformers import pipeline

    return pipeline("image-segmentation", model=str(clothes_model), device="cpu")


def photo(seed: int, size: tuple[int, int]) -> Image.Image:
    """A photo-like picture: smooth colour blobs, so neighbouring pixels agree as in photos."""
    generator = np.random.default_rng(seed)
    small = generator.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def pipeline_label_map(pipe: Any, image: Image.Image) -> np.ndarray:
    """The pipeline's answer (one mask per label present) as one label map."""
    label_map = np.zeros((image.height, image.width), dtype=np.uint8)
    label2id = pipe.model.config.label2id
    for item in pipe(image):
        label_map[np.asarray(item["mask"]) > 0] = label2id[item["label"]]
    return label_map


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float((a == b).mean())


SIZES = [(70, 50), (33, 81), (64, 64), (120, 45), (17, 23)]


def test_the_clothes_model_gives_the_clothes_labels(segmenter: LocalSegmenter) -> None:
    assert segmenter.labels is CLOTHES_LABELS
    assert segmenter.device == "cpu"
    assert "batch_size=3" in repr(segmenter)
    assert segmenter.model.endswith("clothes_model0")


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_label_maps_match_the_transformers_pipeline(
    clothes_model: Path, pipe: Any, batch_size: int
) -> None:
    photos = [photo(seed, size) for seed, size in enumerate(SIZES)]
    segmenter = LocalSegmenter(clothes_model, device="cpu", batch_size=batch_size)
    results = list(segmenter.segment_many(photos))
    assert len(results) == len(photos)
    present: set[str] = set()
    for image, result in zip(photos, results, strict=True):
        assert result.size == image.size
        expected = pipeline_label_map(pipe, image)
        assert agreement(result.label_map, expected) >= 0.999
        present.update(result.labels_present)
    assert len(present) >= 3, "the comparison means little when every pixel is one class"


def test_one_photo_matches_the_pipeline_too(segmenter: LocalSegmenter, pipe: Any) -> None:
    image = photo(7, (96, 72))
    result = segmenter.segment(image)
    assert isinstance(result, SegmentationResult)
    assert agreement(result.label_map, pipeline_label_map(pipe, image)) >= 0.999
    assert not result.label_map.flags.writeable


def jpeg_with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_rotated_photo_is_segmented_upright(
    segmenter: LocalSegmenter, tmp_path: Path, orientation: int
) -> None:
    path = tmp_path / "rotated.jpg"
    path.write_bytes(jpeg_with_orientation(photo(3, (80, 50)), orientation))
    upright = ImageOps.exif_transpose(Image.open(path))
    result = segmenter.segment(path)
    assert result.size == upright.size
    if orientation in (6, 8):
        assert result.size == (50, 80)
    assert agreement(result.label_map, segmenter.segment(upright.convert("RGB")).label_map) == 1.0
    assert result.source == path
    assert result.overlay().size == upright.size  # the kept photo lines up with the label map


def test_a_model_with_other_labels_keeps_its_own_label_set(other_model: Path) -> None:
    segmenter = LocalSegmenter(other_model, device="cpu")
    assert segmenter.labels.names == OTHER_LABELS
    result = segmenter.segment(photo(0, (40, 30)))
    assert result.labels is segmenter.labels
    assert set(result.labels_present) <= set(OTHER_LABELS)
    assert int(result.label_map.max()) < len(OTHER_LABELS)
    assert result.mask("car").shape == (30, 40)
    with pytest.raises(KeyError):
        result.mask("upper-clothes")


def test_results_keep_the_photo_and_say_where_it_came_from(
    segmenter: LocalSegmenter, tmp_path: Path
) -> None:
    path = tmp_path / "look.png"
    photo(1, (40, 60)).save(path)
    data = path.read_bytes()
    array = np.asarray(photo(2, (30, 20)))
    pil = photo(3, (25, 25)).convert("RGBA")
    with path.open("rb") as file:
        results = list(segmenter.segment_many([str(path), path, data, file, array, pil]))
    assert [r.size for r in results] == [(40, 60), (40, 60), (40, 60), (40, 60), (30, 20), (25, 25)]
    assert results[0].source == str(path)
    assert results[1].source == path
    assert results[2].source == f"<{len(data)} bytes>"
    assert results[3].source == str(path)  # a file is named by its path
    assert results[3].image == data  # ... and kept as its bytes: a file reads only once
    assert results[4].source == "<array uint8 20x30x3>"
    assert results[5].image is pil
    for result in results:
        assert result.overlay().size == result.size
    assert pil.mode == "RGBA"  # the caller's image is not changed


def test_grey_photos_work(segmenter: LocalSegmenter) -> None:
    result = segmenter.segment(photo(4, (30, 40)).convert("L"))
    assert result.size == (30, 40)


def bad_inputs() -> list[Any]:
    return [photo(0, (20, 30)), b"not an image", photo(1, (40, 20)), b"", photo(2, (10, 10))]


def test_unreadable_photos_come_back_in_their_place(segmenter: LocalSegmenter) -> None:
    done: list[int] = []
    outcomes = list(
        segmenter.segment_many(bad_inputs(), return_exceptions=True, progress=done.append)
    )
    assert [type(o) for o in outcomes] == [
        SegmentationResult,
        InvalidImageError,
        SegmentationResult,
        InvalidImageError,
        SegmentationResult,
    ]
    assert [o.size for o in outcomes if isinstance(o, SegmentationResult)] == [
        (20, 30),
        (40, 20),
        (10, 10),
    ]
    assert outcomes[1].source == "<12 bytes>"
    assert done == [1, 2, 3, 4, 5]


def test_without_return_exceptions_the_first_bad_photo_raises_at_its_place(
    segmenter: LocalSegmenter,
) -> None:
    results = segmenter.segment_many(bad_inputs())
    assert next(results).size == (20, 30)
    with pytest.raises(InvalidImageError, match="not an image") as caught:
        next(results)
    assert caught.value.source == "<12 bytes>"
    with pytest.raises(InvalidImageError):
        segmenter.segment(b"")


def counted_photos(pulled: list[int]) -> Iterator[Image.Image]:
    """Small photos, endlessly, noting in ``pulled`` each one taken."""
    for index in count():
        pulled.append(index)
        yield photo(index, (16, 16))


def test_segment_many_reads_its_input_one_batch_ahead(segmenter: LocalSegmenter) -> None:
    pulled: list[int] = []
    results = segmenter.segment_many(counted_photos(pulled))
    next(results)
    assert len(pulled) == segmenter.batch_size
    results.close()


@pytest.mark.anyio
async def test_asegment_matches_segment(segmenter: LocalSegmenter) -> None:
    image = photo(5, (50, 40))
    result = await segmenter.asegment(image)
    assert result == segmenter.segment(image)
    with pytest.raises(InvalidImageError):
        await segmenter.asegment(b"nope")


@pytest.mark.anyio
async def test_asegment_many_keeps_order_from_sync_and_async_inputs(
    segmenter: LocalSegmenter,
) -> None:
    photos = [photo(seed, size) for seed, size in enumerate(SIZES)]

    async def stream() -> AsyncIterator[Image.Image]:
        for image in photos:
            yield image

    expected = [r.label_map for r in segmenter.segment_many(photos)]
    from_list = [r async for r in segmenter.asegment_many(photos)]
    from_stream = [r async for r in segmenter.asegment_many(stream())]
    for got in (from_list, from_stream):
        assert [r.size for r in got] == [image.size for image in photos]
        assert all(np.array_equal(r.label_map, e) for r, e in zip(got, expected, strict=True))
    outcomes = [o async for o in segmenter.asegment_many(bad_inputs(), return_exceptions=True)]
    assert [isinstance(o, InvalidImageError) for o in outcomes] == [
        False,
        True,
        False,
        True,
        False,
    ]
    with pytest.raises(InvalidImageError):
        async for _ in segmenter.asegment_many(bad_inputs()):
            pass


@pytest.mark.anyio
async def test_breaking_out_of_asegment_many_early(segmenter: LocalSegmenter) -> None:
    pulled: list[int] = []
    results = segmenter.asegment_many(counted_photos(pulled))
    async for _ in results:
        break
    await results.aclose()  # type: ignore[attr-defined]
    assert len(pulled) == segmenter.batch_size


def test_a_missing_folder_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_model"
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        LocalSegmenter(missing)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        LocalSegmenter(str(missing))


def test_weights_that_cannot_be_downloaded_say_how_to_get_them() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        LocalSegmenter("sayeed99/segformer_b3_clothes", local_files_only=True)
    message = str(caught.value)
    assert "not on this machine" in message
    assert "hf download sayeed99/segformer_b3_clothes --local-dir segformer_b3_clothes" in message
    assert "LocalSegmenter(model='segformer_b3_clothes')" in message


def test_a_folder_without_its_image_processor_says_what_is_missing(
    clothes_model: Path, tmp_path: Path
) -> None:
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_bytes((clothes_model / name).read_bytes())
    with pytest.raises(ModelNotFoundError, match="preprocessor_config.json"):
        LocalSegmenter(tmp_path)


def test_a_model_that_is_not_a_segformer_is_refused(tmp_path: Path) -> None:
    config = {"model_type": "vit", "id2label": {"0": "cat"}, "label2id": {"cat": 0}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="'vit' model"):
        LocalSegmenter(tmp_path)


def test_bad_device_and_batch_size(clothes_model: Path) -> None:
    with pytest.raises(ValueError, match="device"):
        LocalSegmenter(clothes_model, device="not-a-device")
    with pytest.raises(ValueError, match="batch_size"):
        LocalSegmenter(clothes_model, batch_size=0)
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            LocalSegmenter(clothes_model, device="cuda")
    assert LocalSegmenter(clothes_model, device="auto").device in ("cpu", "cuda:0", "cuda")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_agrees_with_float32_on_almost_every_pixel(
    clothes_model: Path, segmenter: LocalSegmenter, dtype: str
) -> None:
    import torch

    half = LocalSegmenter(clothes_model, device="cpu", dtype=getattr(torch, dtype))
    assert half.dtype == dtype
    assert f"dtype={dtype!r}" in repr(half)
    photos = [
        Image.new("RGB", (64, 96), (200, 30, 60)),
        Image.fromarray(np.random.default_rng(3).integers(0, 256, (80, 80, 3), dtype=np.uint8)),
    ]
    for photo, reference in zip(
        half.segment_batch(photos), segmenter.segment_batch(photos), strict=True
    ):
        assert isinstance(photo, SegmentationResult)
        assert isinstance(reference, SegmentationResult)
        assert np.mean(photo.label_map == reference.label_map) >= 0.99


def test_a_bad_dtype_is_refused_with_the_choices(clothes_model: Path) -> None:
    from segformer_clothes.errors import SettingError

    with pytest.raises(SettingError, match="dtype must be one of 'float32', 'float16', 'bfloat16'"):
        LocalSegmenter(clothes_model, dtype="int8")


def test_the_package_exports_the_same_class() -> None:
    import segformer_clothes

    assert segformer_clothes.LocalSegmenter is LocalSegmenter
    assert "torch" in sys.modules  # this session has the extra


def randomise_batch_norm(network: Any, seed: int) -> None:
    """Give the head's batch norm statistics a fresh model never has, so folding it shows."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    norm = network.decode_head.batch_norm
    with torch.no_grad():
        for tensor, low, high in (
            (norm.running_mean, -0.5, 0.5),
            (norm.running_var, 0.5, 2.0),
            (norm.weight, 0.5, 1.5),
            (norm.bias, -0.3, 0.3),
        ):
            tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)


def test_the_folded_decode_head_gives_the_models_logits(clothes_model: Path) -> None:
    import torch
    from transformers import SegformerForSemanticSegmentation

    from segformer_clothes.backends.local.decode_head import fold_decode_head

    network = SegformerForSemanticSegmentation.from_pretrained(clothes_model).eval()
    randomise_batch_norm(network, seed=3)
    pixels = torch.randn(3, 3, 64, 48, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = network(pixel_values=pixels).logits
        assert fold_decode_head(torch, network)
        got = network(pixel_values=pixels).logits
    assert type(network.decode_head).__name__ == "FoldedDecodeHead"
    assert got.shape == expected.shape
    assert float((got - expected).abs().max()) < 1e-4
    assert bool((got.argmax(1) == expected.argmax(1)).all())


def test_a_head_of_another_shape_is_left_as_it_is(clothes_model: Path) -> None:
    import torch
    from transformers import SegformerForSemanticSegmentation

    from segformer_clothes.backends.local.decode_head import fold_decode_head

    network = SegformerForSemanticSegmentation.from_pretrained(clothes_model).eval()
    head = network.decode_head
    head.activation = torch.nn.GELU()  # no longer the known head: folding would be wrong
    assert not fold_decode_head(torch, network)
    assert network.decode_head is head


def test_segmenters_run_the_folded_head(segmenter: LocalSegmenter) -> None:
    assert type(segmenter._network.decode_head).__name__ == "FoldedDecodeHead"


@pytest.mark.anyio
async def test_concurrent_calls_share_one_segmenter(segmenter: LocalSegmenter) -> None:
    import anyio

    photos = [photo(seed, (40 + seed, 30)) for seed in range(4)]
    got: dict[int, SegmentationResult] = {}

    async def one(index: int) -> None:
        got[index] = await segmenter.asegment(photos[index])

    async with anyio.create_task_group() as group:
        for index in range(len(photos)):
            group.start_soon(one, index)
    for index, image in enumerate(photos):
        assert got[index] == segmenter.segment(image)
