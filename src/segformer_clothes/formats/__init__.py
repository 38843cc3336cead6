"""Every representation of a segmentation the library reads and writes, one module each.

- `segformer_clothes.formats.answer`: the JSON answer of the Hugging Face image-segmentation
  API (a list of label/mask items) - `decode_answer` and `encode_answer`.
- `segformer_clothes.formats.label_map_png`: one photo's label map as a palette PNG carrying
  its labels and source - `read_label_map_png` and `write_label_map_png`.

Each module goes both ways, between its representation and a plain H×W uint8 label map of
class ids; `segformer_clothes.SegmentationResult` is built on them (`from_response`,
`to_response`, `save`, `load`).

Example:
    >>> import numpy as np
    >>> from segformer_clothes.formats import decode_answer, encode_answer
    >>> label_map = np.array([[0, 4], [6, 6]], dtype=np.uint8)
    >>> np.array_equal(decode_answer(encode_answer(label_map)), label_map)
    True
"""

from __future__ import annotations

from .answer import decode_answer, encode_answer
from .label_map_png import PNG_METADATA_KEY, LabelMapPNG, read_label_map_png, write_label_map_png

__all__ = [
    "PNG_METADATA_KEY",
    "LabelMapPNG",
    "decode_answer",
    "encode_answer",
    "read_label_map_png",
    "write_label_map_png",
]
