"""`LocalSegmenter`: the SegFormer clothes model run in this process, on CPU or GPU.

No token, no rate limit, no network once the weights are on disk: the model is loaded with
transformers (``SegformerForSemanticSegmentation`` and the model's own saved image processor)
and gives the same `SegmentationResult` as `SegformerClothesClient`. It needs the ``local``
extra: ``pip install "segformer-clothes[local]"`` (torch and transformers). Importing this
module does not import torch; creating a `LocalSegmenter` does.

The label map is computed as the transformers image-segmentation pipeline computes it: the
logits upsampled bilinearly to the photo's size, then the arg-max class of each pixel.

Example:
    The first line downloads the model's weights from the Hugging Face Hub, so it is not run
    in our checks (the examples of `LocalSegmenter.segment_batch` run on a stand-in model):

    >>> from segformer_clothes.local import LocalSegmenter
    >>> segmenter = LocalSegmenter()  # doctest: +SKIP
    >>> segmenter.segment("look.jpg").labels_present  # doctest: +SKIP
    ('Background', 'Hair', 'Face', 'Upper-clothes', 'Pants', ...)
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any, TypeAlias

import anyio.to_thread

from ...errors import InvalidImageError, ModelNotFoundError, SettingError
from ...images import ImageInput, load_image, read_image_bytes
from ...labels import LabelSet
from ...result import SegmentationResult
from ..base import BaseSegmenter
from ..protocol import Outcome, source_of
from ..remote.client import DEFAULT_MODEL
from .decode_head import fold_decode_head

__all__ = ["INSTALL_COMMAND", "LocalSegmenter"]

logger = logging.getLogger(__name__)

INSTALL_COMMAND = 'pip install "segformer-clothes[local]"'
"""The command that installs what `LocalSegmenter` needs (torch and transformers)."""

_DTYPES = ("float32", "float16", "bfloat16")
# What `_read` hands to `_infer`: an outcome slot per photo (None until the model fills it),
# and each photo read: (its slot, the decoded picture, what the result keeps, its source).
_Loaded: TypeAlias = tuple[list[Outcome | None], list[tuple[int, Any, Any, object]]]


def _import_backend() -> tuple[Any, Any]:
    """Import torch and transformers, or say how to install them."""
    try:
        torch = importlib.import_module("torch")
        transformers = importlib.import_module("transformers")
    except ImportError as error:
        missing = error.name or "torch or transformers"
        raise ImportError(
            f"LocalSegmenter runs the model with torch and transformers, and {missing} is not "
            f"installed. Install them with: {INSTALL_COMMAND} (from a clone of the "
            'repository: pip install ".[local]")'
        ) from error
    return torch, transformers


def _pick_device(torch: Any, device: str | Any) -> Any:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise SettingError(
            "device", device, "'auto', 'cpu', 'cuda', 'cuda:N' or another torch device"
        ) from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise SettingError(
            "device", device, "'cpu' or 'auto' on this machine, where torch sees no CUDA GPU"
        )
    return chosen


def _pick_dtype(torch: Any, dtype: str | Any, device: Any) -> Any:
    name = str(dtype).removeprefix("torch.")
    if name not in _DTYPES:
        raise SettingError("dtype", dtype, "one of " + ", ".join(map(repr, _DTYPES)))
    if name == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise SettingError(
            "dtype", dtype, f"'float16' or 'float32' on {device}, which cannot run bfloat16"
        )
    return getattr(torch, name)


def _looks_like_folder(name: str) -> bool:
    """A name that can only be a folder, never a Hub id like ``owner/model``."""
    return (
        os.path.isabs(name)
        or name.startswith((".", "~"))
        or name.count("/") > 1
        or (os.sep != "/" and os.sep in name)
    )


def _not_available(model: str, error: BaseException) -> ModelNotFoundError:
    """The error for weights that are neither on disk nor downloadable, saying what to do."""
    if os.path.isdir(model):
        return ModelNotFoundError(
            f"cannot load the model from the folder {model!r}: {error}. The folder needs "
            "config.json, the weights (model.safetensors or pytorch_model.bin) and "
            "preprocessor_config.json, as save_pretrained() of the model and of its image "
            "processor write them"
        )
    if _looks_like_folder(model):
        return ModelNotFoundError(
            f"the model folder {model!r} does not exist; pass the folder that holds "
            "config.json, the weights and preprocessor_config.json, or a Hugging Face model "
            f"id such as {DEFAULT_MODEL!r}"
        )
    folder = model.rsplit("/", 1)[-1]
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    missing = ModelNotFoundError(
        f"the weights of {model!r} are not on this machine and could not be downloaded "
        f"({reason}). On a machine that reaches huggingface.co, run "
        f"`hf download {model} --local-dir {folder}` (or start LocalSegmenter there once to fill "
        f"the cache), copy the folder here and pass LocalSegmenter(model={folder!r}); or point "
        "HF_HOME at a Hugging Face cache that holds the model. (If you meant a folder: there "
        f"is no folder {model!r} here.)"
    )
    # For front ends that phrase the fix in their own terms (the command line's --model DIR).
    missing.model, missing.folder, missing.reason = model, folder, reason  # type: ignore[attr-defined]
    return missing


class LocalSegmenter(BaseSegmenter):
    """Segment clothes with a SegFormer model run in this process (CPU or GPU).

    The model is loaded once, at creation. Its labels come from its config (``id2label``):
    the 18 clothes labels for the clothes models, the model's own `LabelSet` otherwise, so
    that a model with other classes is never mislabelled. Photos are prepared by the image
    processor saved with the model, and segmented in batches.

    A segmenter may be shared between threads and tasks: the model runs one batch at a time.

    Args:
        model: a Hugging Face model id (downloaded once into the Hugging Face cache) or a
            folder written by ``save_pretrained`` (config.json, the weights and
            preprocessor_config.json).
        device: ``"auto"`` (a CUDA GPU when torch sees one, else the CPU), ``"cpu"``,
            ``"cuda"``, ``"cuda:1"``, or any other torch device.
        batch_size: photos run through the model together; more is faster up to the memory
            the device has.
        dtype: the precision the model runs in: ``"float32"`` (the default, the reference),
            ``"float16"`` or ``"bfloat16"``. Half precision roughly halves the memory and is
            much faster on GPUs with tensor cores; the label maps then differ from float32 in a
            small fraction of pixels, at class boundaries where two classes score almost alike
            (about 0.1% of pixels for float16 and 0.5% to 2% for bfloat16 on our test model). The
            scores are brought back to float32 before upsampling, so only the network itself
            runs in half precision.
        local_files_only: never try the network: use only a folder or the Hugging Face cache.

    Raises:
        ImportError: torch or transformers is missing; the message gives the install command.
        ModelNotFoundError: the weights are not on disk and cannot be downloaded; the message
            says how to get them or where to point ``model``.
        SettingError: a bad ``device``, ``batch_size`` or ``dtype``, or one this machine cannot
            run (a `ValueError`).
        ValueError: a model that is not a SegFormer.

    Example:
        The model's weights come from the Hugging Face Hub, so this is not run in our checks:

        >>> from segformer_clothes import LocalSegmenter
        >>> segmenter = LocalSegmenter("sayeed99/segformer_b3_clothes")  # doctest: +SKIP
        >>> result = segmenter.segment("look.jpg")  # doctest: +SKIP
        >>> result.crop("upper-clothes").save("top.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_MODEL,
        *,
        device: str | Any = "auto",
        batch_size: int = 4,
        dtype: str | Any = "float32",
        local_files_only: bool = False,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise SettingError("batch_size", batch_size, "a whole number, 1 or more")
        torch, transformers = _import_backend()
        self._torch = torch
        self._functional = importlib.import_module("torch.nn.functional")
        self._model_name = os.fspath(model)
        self._device = _pick_device(torch, device)
        self._dtype = _pick_dtype(torch, dtype, self._device)
        self.batch_size = batch_size
        self._chunk_size = batch_size  # photos per call of the model in segment_many
        self._lock = threading.Lock()
        self._network, self._processor, self.labels = self._load(transformers, local_files_only)
        logger.info(
            "loaded %s on %s in %s (%d labels, batch size %d)",
            self._model_name,
            self._device,
            self.dtype,
            len(self.labels),
            batch_size,
        )

    def _load(self, transformers: Any, local_files_only: bool) -> tuple[Any, Any, LabelSet]:
        """The network, its image processor and its labels, from a folder or the Hub."""
        name = self._model_name
        if isinstance(name, str) and _looks_like_folder(name) and not os.path.isdir(name):
            raise _not_available(name, FileNotFoundError(name))
        options = {"local_files_only": local_files_only}
        try:
            config = transformers.AutoConfig.from_pretrained(name, **options)
        except OSError as error:
            raise _not_available(name, error) from error
        if config.model_type != "segformer":
            raise ValueError(
                f"{name!r} is a {config.model_type!r} model; LocalSegmenter runs SegFormer "
                "semantic-segmentation models (model_type 'segformer'), such as "
                f"{DEFAULT_MODEL!r}"
            )
        labels = LabelSet.from_id2label(config.id2label)
        try:
            network = transformers.SegformerForSemanticSegmentation.from_pretrained(
                name, config=config, **options
            )
            processor = transformers.AutoImageProcessor.from_pretrained(name, **options)
        except OSError as error:
            raise _not_available(name, error) from error
        network.eval()
        network.to(self._device)
        fold_decode_head(self._torch, network)
        network.to(self._dtype)  # after folding: the folded weights are computed in float32
        return network, processor, labels

    def __repr__(self) -> str:
        return (
            f"LocalSegmenter(model={self._model_name!r}, device={str(self._device)!r}, "
            f"batch_size={self.batch_size}, dtype={self.dtype!r})"
        )

    @property
    def model(self) -> str:
        """The model id or folder the weights came from."""
        return self._model_name

    @property
    def device(self) -> str:
        """The torch device the model runs on, such as ``"cpu"`` or ``"cuda:0"``."""
        return str(self._device)

    @property
    def dtype(self) -> str:
        """The precision the network runs in: ``"float32"``, ``"float16"`` or ``"bfloat16"``."""
        return str(self._dtype).removeprefix("torch.")

    # ----------------------------------------------------------------- the work

    def segment_batch(self, images: Sequence[ImageInput]) -> list[Outcome]:
        """Segment photos together, ``batch_size`` at a time through the model, in input order.

        Never raises for one photo's failure: a photo that cannot be read gets its
        `InvalidImageError` in its place, and the others are segmented.

        Example:
            On a stand-in model with random weights (the real one comes from the Hub):

            >>> import tempfile
            >>> from PIL import Image
            >>> from segformer_clothes.testing import save_random_segformer
            >>> folder = save_random_segformer(tempfile.mkdtemp())
            >>> segmenter = LocalSegmenter(folder, device="cpu")
            >>> outcomes = segmenter.segment_batch([Image.new("RGB", (32, 48)), b"broken"])
            >>> [type(outcome).__name__ for outcome in outcomes]
            ['SegmentationResult', 'InvalidImageError']
            >>> outcomes[0].size
            (32, 48)
        """
        outcomes: list[Outcome] = []
        for start in range(0, len(images), self.batch_size):
            outcomes.extend(self._infer(self._read(images[start : start + self.batch_size])))
        return outcomes

    @property
    def _read_ahead(self) -> int:
        return 1  # one batch: the model takes one at a time, and photos can be large

    async def _asegment_chunk(self, images: list[ImageInput]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for start in range(0, len(images), self.batch_size):
            # Reading photos changes nothing outside it: when cancelled it is left to end on
            # its own, so that a read stuck on a hung drive does not hold up Ctrl-C. A batch in
            # the model cannot be interrupted: cancelling waits for it to finish.
            loaded = await anyio.to_thread.run_sync(
                self._read, images[start : start + self.batch_size], abandon_on_cancel=True
            )
            outcomes.extend(await anyio.to_thread.run_sync(self._infer, loaded))
        return outcomes

    def _read(self, images: Sequence[ImageInput]) -> _Loaded:
        """Read and decode at most ``batch_size`` photos: a placeholder (None) per photo read,
        its error in its place for one that cannot be, and the photos read."""
        outcomes: list[Outcome | None] = []
        photos = []
        for image in images:
            source = source_of(image)
            try:
                kept = read_image_bytes(image) if _is_file_object(image) else image
                photo = load_image(kept)
            except InvalidImageError as error:
                error.source = source
                outcomes.append(error)
                continue
            outcomes.append(None)
            photos.append((len(outcomes) - 1, photo, kept, source))
        return outcomes, photos

    def _infer(self, loaded: _Loaded) -> list[Outcome]:
        """One pass of the model over the photos `_read` gave, in input order."""
        outcomes, photos = loaded
        if photos:
            # The processor runs outside the lock: another thread may prepare its photos
            # while this one's batch is in the model.
            inputs = self._processor(
                images=[photo for _, photo, _, _ in photos], return_tensors="pt"
            )
            with self._lock, self._torch.inference_mode():
                pixels = inputs["pixel_values"].to(self._device, self._dtype)
                # Channels-last: upsampling and the arg-max over classes run several times
                # faster on a CPU with the classes of a pixel side by side in memory. Scores
                # go back to float32 first, so that only the network runs in half precision.
                logits = (
                    self._network(pixel_values=pixels)
                    .logits.float()
                    .contiguous(memory_format=self._torch.channels_last)
                )
                for item, (index, photo, kept, source) in enumerate(photos):
                    # A slice, not logits[item]: it keeps the channels-last layout.
                    label_map = self._label_map(logits[item : item + 1], photo.height, photo.width)
                    outcomes[index] = SegmentationResult(
                        label_map, labels=self.labels, source=source, image=kept
                    )
        return [outcome for outcome in outcomes if outcome is not None]

    def _label_map(self, logits: Any, height: int, width: int) -> Any:
        """Class ids at the photo's size: bilinear upsampling of one photo's logits (a batch
        of one), then arg-max."""
        upsampled = self._functional.interpolate(
            logits, size=(height, width), mode="bilinear", align_corners=False
        )
        class_ids = upsampled[0].permute(1, 2, 0).argmax(dim=-1).to(self._torch.uint8).cpu().numpy()
        class_ids.flags.writeable = False  # SegmentationResult keeps it without a copy
        return class_ids


def _is_file_object(image: ImageInput) -> bool:
    # A file can be read once: the result keeps its bytes, so overlays still work.
    return callable(getattr(image, "read", None)) and not isinstance(
        image, (str, os.PathLike, bytes, bytearray, memoryview)
    )
