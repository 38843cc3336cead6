"""Random-weight SegFormer models saved to a folder, to test and time `LocalSegmenter` offline.

The folder is what ``save_pretrained`` writes for a real model (``config.json``, the weights and
``preprocessor_config.json``), so it loads through the same code path as real weights, with no
download anywhere. The weights are random: such a model says nothing about clothes.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from ..labels import CLOTHES_NAMES

__all__ = ["B3_SEGFORMER_SIZES", "TINY_SEGFORMER_SIZES", "save_random_segformer"]

TINY_SEGFORMER_SIZES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "hidden_sizes": (8, 16, 32, 64),
        "depths": (1, 1, 1, 1),
        "num_attention_heads": (1, 2, 4, 8),
    }
)
"""The encoder of a SegFormer small enough for a test to run it in milliseconds (the default
of `save_random_segformer`)."""

B3_SEGFORMER_SIZES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "hidden_sizes": (64, 128, 320, 512),
        "depths": (3, 4, 18, 3),
        "num_attention_heads": (1, 2, 5, 8),
    }
)
"""The encoder of SegFormer-B3, the clothes model's size; pair it with
``decoder_hidden_size=768`` to time a model as heavy as the real one."""


def save_random_segformer(
    folder: str | os.PathLike[str],
    *,
    sizes: Mapping[str, Sequence[int]] = TINY_SEGFORMER_SIZES,
    decoder_hidden_size: int = 32,
    labels: Sequence[str] = CLOTHES_NAMES,
    image_size: int = 64,
    seed: int = 0,
) -> Path:
    """Write a SegFormer with random (seeded) weights and its image processor to ``folder``.

    Needs the ``local`` extra (torch and transformers); they are imported only when this is
    called, so importing `segformer_clothes.testing` stays light.

    Args:
        folder: where to write; created when missing.
        sizes: ``hidden_sizes``, ``depths`` and ``num_attention_heads`` of the encoder, as
            `TINY_SEGFORMER_SIZES` and `B3_SEGFORMER_SIZES` give them.
        decoder_hidden_size: channels of the all-MLP decoder (768 for B3).
        labels: class names, index = class id (``id2label`` of the config).
        image_size: the square size the saved image processor resizes photos to.
        seed: the torch seed of the weights.

    Returns:
        The folder, ready for ``LocalSegmenter(model=folder)``.

    Raises:
        ModuleNotFoundError: torch or transformers is not installed.

    Example:
        >>> import tempfile
        >>> from segformer_clothes.local import LocalSegmenter
        >>> from PIL import Image
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     model = save_random_segformer(folder)
        ...     segmenter = LocalSegmenter(model, device="cpu")
        ...     segmenter.segment(Image.new("RGB", (40, 30))).label_map.shape
        (30, 40)
    """
    torch = importlib.import_module("torch")
    transformers = importlib.import_module("transformers")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = transformers.SegformerConfig(
        **{name: list(values) for name, values in sizes.items()},
        decoder_hidden_size=decoder_hidden_size,
        id2label=dict(enumerate(labels)),
        label2id={name: index for index, name in enumerate(labels)},
    )
    torch.manual_seed(seed)
    network = transformers.SegformerForSemanticSegmentation(config).eval()
    # A fresh batch norm is the identity (mean 0, variance 1); a trained one is not. Give it
    # the statistics of the features it sees, then a random scale and shift, so that whatever
    # runs this model has to apply them right, and label maps still hold several classes.
    norms = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over the calibration batch
        norm.train()
    with torch.no_grad():
        network(pixel_values=torch.randn(2, 3, 128, 128))
        for norm in norms:
            norm.eval()
            norm.momentum = 0.1
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.3, 0.3)
    network.save_pretrained(folder)
    # transformers 5 names the torch-free processor SegformerImageProcessorPil; both save
    # "SegformerImageProcessor" as the type, which AutoImageProcessor loads back.
    processor_class = getattr(
        transformers, "SegformerImageProcessorPil", transformers.SegformerImageProcessor
    )
    processor_class(size={"height": image_size, "width": image_size}).save_pretrained(folder)
    return folder
