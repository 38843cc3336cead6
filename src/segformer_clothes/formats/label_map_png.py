"""The label-map PNG: one photo's class ids as a palette PNG that carries its labels and source.

The pixel values of the PNG are the class ids themselves, so any tool reading PNGs gets the
label map back, while its palette shows each label in its colour in an image viewer. An ``iTXt``
chunk named ``segformer_clothes`` holds JSON with the label names, groups and palette and the
source of the photo, so that `read_label_map_png` gives back exactly what
`write_label_map_png` was given. Any mode L or P PNG of class ids reads too, taken as the
clothes labels.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> label_map = np.array([[0, 4], [6, 6]], dtype=np.uint8)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_label_map_png(Path(folder) / "look.png", label_map, source="look.jpg")
    ...     stored = read_label_map_png(path)
    >>> np.array_equal(stored.label_map, label_map), stored.source, stored.labels.name(4)
    (True, 'look.jpg', 'Upper-clothes')
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from PIL import Image, PngImagePlugin

from ..labels import CLOTHES_LABELS, LabelSet
from ._label_map import checked_label_map

__all__ = [
    "PNG_METADATA_KEY",
    "LabelMapPNG",
    "encode_label_map_png",
    "read_label_map_png",
    "write_label_map_png",
]

PNG_METADATA_KEY = "segformer_clothes"
"""The name of the PNG text chunk holding the labels and the source, as JSON."""


def _array_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


@attrs.frozen
class LabelMapPNG:
    """What a label-map PNG holds.

    Attributes:
        label_map: H×W uint8 array of class ids.
        labels: the label set saved with it; the 18 clothes classes for a PNG without one.
            The ids of ``label_map`` are not checked against it.
        source: the source saved with it (a `pathlib.Path` when a path was saved, else a
            string), or None.
    """

    label_map: np.ndarray = attrs.field(eq=attrs.cmp_using(eq=_array_equal), repr=False)
    labels: LabelSet = CLOTHES_LABELS
    source: str | Path | None = None


def write_label_map_png(
    path: str | os.PathLike[str],
    label_map: np.ndarray,
    *,
    labels: LabelSet = CLOTHES_LABELS,
    source: Any = None,
) -> Path:
    """Write a label map as one palette PNG carrying its labels and source.

    Args:
        path: the file to write (replaced when it exists).
        label_map: H×W array of class ids (any integer dtype, ids in ``labels``).
        labels: the names the ids stand for, saved with their groups and palette.
        source: what the label map is about: a `pathlib.Path` reads back as a Path, a string
            or any other path-like as a string, anything else as its ``str()``; None saves none.

    Returns:
        The path written, as a `pathlib.Path`.

    Raises:
        ValueError: the label map is not 2-D, not integer, or holds an id ``labels`` lacks.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = write_label_map_png(Path(folder) / "a.png", np.eye(2, dtype=np.uint8))
        ...     path.name
        'a.png'
    """
    encoded = encode_label_map_png(label_map, labels=labels, source=source)
    path = Path(path)
    path.write_bytes(encoded)
    return path


def encode_label_map_png(
    label_map: np.ndarray, *, labels: LabelSet = CLOTHES_LABELS, source: Any = None
) -> bytes:
    """The bytes `write_label_map_png` writes, for a process that writes them elsewhere.

    Raises:
        ValueError: the label map is not 2-D, not integer, or holds an id ``labels`` lacks.

    Example:
        >>> encode_label_map_png(np.eye(2, dtype=np.uint8))[:4]
        b'\\x89PNG'
    """
    array = checked_label_map(label_map, labels).astype(np.uint8, copy=False)
    picture = Image.fromarray(array).convert("P")
    picture.putpalette(labels.palette_array())
    info = PngImagePlugin.PngInfo()
    info.add_itxt(PNG_METADATA_KEY, json.dumps(_metadata(labels, source)))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_label_map_png(path: str | os.PathLike[str]) -> LabelMapPNG:
    """Read a label-map PNG: one written by `write_label_map_png`, or any mode L or P PNG
    whose pixel values are class ids (taken as the clothes labels, with no source).

    Raises:
        ValueError: the file is not a single-channel image of class ids.
        OSError: the file cannot be read.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from PIL import Image
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     Image.new("L", (3, 2), 4).save(Path(folder) / "plain.png")
        ...     stored = read_label_map_png(Path(folder) / "plain.png")
        >>> stored.label_map.shape, stored.labels.name(4), stored.source
        ((2, 3), 'Upper-clothes', None)
    """
    with Image.open(path) as picture:
        picture.load()
        if picture.mode not in ("L", "P"):
            raise ValueError(
                f"{os.fspath(path)} is a {picture.mode} image, not a label map "
                "(mode L or P holding class ids)"
            )
        label_map = np.array(picture, dtype=np.uint8)
        raw = picture.info.get(PNG_METADATA_KEY)
    if raw is None:
        return LabelMapPNG(label_map)
    meta = json.loads(raw)
    names = tuple(meta["labels"])
    if names == CLOTHES_LABELS.names:
        labels = CLOTHES_LABELS
    else:
        groups = {k: tuple(v) for k, v in meta.get("groups", {}).items()}
        labels = LabelSet(names, groups=groups, palette=[tuple(c) for c in meta["palette"]])
    source = meta.get("source")
    if source is not None and meta.get("source_type") == "path":
        source = Path(source)
    return LabelMapPNG(label_map, labels, source)


def _metadata(labels: LabelSet, source: Any) -> dict[str, Any]:
    kind = "path" if isinstance(source, Path) else "str"
    if source is not None and not isinstance(source, str):
        source = os.fspath(source) if isinstance(source, os.PathLike) else str(source)
    return {
        "labels": list(labels.names),
        "groups": {k: list(v) for k, v in labels.groups.items()},
        "palette": [list(rgb) for rgb in labels.palette],
        "source": source,
        "source_type": kind,
    }
