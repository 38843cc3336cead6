"""Segmentations as COCO: run-length encoded masks (RLE) and COCO files, both ways.

COCO RLE is the compressed mask format of the COCO dataset, read by annotation tools (CVAT,
Label Studio, FiftyOne) and by most segmentation libraries. Masks are encoded and decoded with
``pycocotools`` (the ``analysis`` extra), so that every tool reads them exactly as COCO's own
code does; ``counts`` is the compressed string form, ready for JSON.

A label map becomes one COCO annotation per label present but Background: its RLE mask, its
area (pixels), its box ``[x, y, width, height]``, ``category_id`` = the class id and
``iscrowd`` 0. `write_coco` writes a whole catalogue as one COCO file (``images``,
``categories``, ``annotations``), streaming, so that large catalogues are never held at once.

Example:
    >>> import numpy as np
    >>> mask = np.zeros((3, 4), dtype=bool)
    >>> mask[1, 1:3] = True
    >>> rle = encode_rle(mask)
    >>> rle["size"], np.array_equal(decode_rle(rle), mask)
    ([3, 4], True)
"""

from __future__ import annotations

import importlib
import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..labels import CLOTHES_LABELS, LabelSet
from ._label_map import checked_label_map

__all__ = [
    "coco_categories",
    "decode_annotations",
    "decode_rle",
    "encode_annotations",
    "encode_rle",
    "encode_rles",
    "write_coco",
]

INSTALL_COMMAND = 'pip install "segformer-clothes[analysis]"'


def _mask_api() -> Any:
    try:
        return importlib.import_module("pycocotools.mask")
    except ImportError as error:
        raise ImportError(
            "COCO masks need pycocotools, which is not installed. Install it with: "
            f'{INSTALL_COMMAND} (from a clone of the repository: pip install ".[analysis]")'
        ) from error


def _as_json(rle: Mapping[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    return {
        "size": [int(n) for n in rle["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else str(counts),
    }


def encode_rles(masks: np.ndarray) -> list[dict[str, Any]]:
    """The COCO RLE of each mask of an H×W×N stack (bool or 0/1), as
    ``{"size": [height, width], "counts": str}``. A Fortran-ordered uint8 stack is encoded
    without a copy.

    Raises:
        ImportError: pycocotools is not installed; the message gives the install command.
    """
    if masks.ndim != 3:
        raise ValueError(f"a stack of masks is 3-D (height, width, count), got {masks.shape}")
    stack = masks if masks.dtype == np.uint8 else masks.astype(np.uint8)
    encoded = _mask_api().encode(np.asfortranarray(stack))
    return [_as_json(rle) for rle in encoded]


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """The COCO RLE of one H×W boolean mask: ``{"size": [height, width], "counts": str}``.

    Raises:
        ValueError: the mask is not 2-D.
        ImportError: pycocotools is not installed; the message gives the install command.
    """
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ValueError(f"a mask is 2-D (height, width), got shape {array.shape}")
    return encode_rles(array[:, :, None])[0]


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """The H×W boolean mask of a COCO RLE (compressed string or bytes ``counts``, or the
    uncompressed list of run lengths).

    Raises:
        ValueError: not an RLE: ``size`` and ``counts`` are needed.
    """
    try:
        height, width = (int(n) for n in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            'a COCO RLE is {"size": [height, width], "counts": ...}, got '
            f"{str(dict(rle) if isinstance(rle, Mapping) else rle)[:80]}"
        ) from None
    api = _mask_api()
    if isinstance(counts, list):
        compressed = api.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    else:
        data = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
        compressed = {"size": [height, width], "counts": data}
    with warnings.catch_warnings():
        # pycocotools' decoder builds its array in a way numpy 2 warns about; harmless.
        warnings.filterwarnings("ignore", message=".*__array__.*copy", category=DeprecationWarning)
        decoded: np.ndarray = api.decode(compressed).astype(bool)
    return decoded


def encode_annotations(
    label_map: np.ndarray,
    *,
    labels: LabelSet = CLOTHES_LABELS,
    image_id: int = 1,
    first_id: int = 1,
) -> list[dict[str, Any]]:
    """One COCO annotation per label present but Background, in class-id order, with ids from
    ``first_id``: ``segmentation`` (RLE), ``area``, ``bbox`` ``[x, y, width, height]``,
    ``category_id`` (the class id), ``image_id`` and ``iscrowd`` 0.

    Example:
        >>> import numpy as np
        >>> label_map = np.array([[0, 4, 4], [6, 6, 0]], dtype=np.uint8)
        >>> [(a["category_id"], a["area"], a["bbox"]) for a in encode_annotations(label_map)]
        [(4, 2, [1, 0, 2, 1]), (6, 2, [0, 1, 2, 1])]
    """
    array = checked_label_map(label_map, labels)
    counts = np.bincount(array.ravel(), minlength=len(labels))
    ids = [int(i) for i in np.flatnonzero(counts) if i != 0]
    if not ids:
        return []
    fortran = np.asfortranarray(array)
    stack = np.empty((*array.shape, len(ids)), dtype=np.uint8, order="F")
    for index, class_id in enumerate(ids):
        np.equal(fortran, class_id, out=stack[:, :, index], casting="unsafe")
    annotations = []
    for offset, (class_id, rle) in enumerate(zip(ids, encode_rles(stack), strict=True)):
        rows = np.flatnonzero(stack[:, :, offset].any(axis=1))
        columns = np.flatnonzero(stack[:, :, offset].any(axis=0))
        x, y = int(columns[0]), int(rows[0])
        annotations.append(
            {
                "id": first_id + offset,
                "image_id": image_id,
                "category_id": class_id,
                "segmentation": rle,
                "area": int(counts[class_id]),
                "bbox": [x, y, int(columns[-1]) + 1 - x, int(rows[-1]) + 1 - y],
                "iscrowd": 0,
            }
        )
    return annotations


def decode_annotations(
    annotations: Iterable[Mapping[str, Any]],
    size: tuple[int, int],
    labels: LabelSet = CLOTHES_LABELS,
) -> np.ndarray:
    """The label map of one image's COCO annotations with RLE masks; ``size`` is
    ``(width, height)``. Where masks overlap the highest class id wins; pixels no mask covers
    are Background (0).

    Raises:
        ValueError: an annotation has no RLE mask of that size, or a category id the labels
            do not have.
    """
    width, height = size
    label_map = np.zeros((height, width), dtype=np.uint8)
    items = sorted(annotations, key=lambda item: int(item["category_id"]))
    for item in items:
        class_id = int(item["category_id"])
        if not 0 <= class_id < len(labels):
            raise ValueError(f"category id {class_id} is not a class of {labels!r}")
        mask = decode_rle(item["segmentation"])
        if mask.shape != (height, width):
            raise ValueError(
                f"a mask of {mask.shape[1]}x{mask.shape[0]} in an image of {width}x{height}"
            )
        label_map[mask] = class_id
    return label_map


def coco_categories(labels: LabelSet = CLOTHES_LABELS) -> list[dict[str, Any]]:
    """The COCO ``categories`` of a label set: every class but Background (id 0), with its id,
    name, and ``supercategory`` the first group that holds it (``garments`` or ``body`` for
    the clothes classes), else ``"none"``.

    Example:
        >>> coco_categories()[:2]
        [{'id': 1, 'name': 'Hat', 'supercategory': 'garments'},
         {'id': 2, 'name': 'Hair', 'supercategory': 'body'}]
    """
    wide = {name: ids for name, ids in labels.groups.items() if name in ("garments", "body")}
    return [
        {
            "id": class_id,
            "name": labels.names[class_id],
            "supercategory": next((g for g, ids in wide.items() if class_id in ids), "none"),
        }
        for class_id in range(1, len(labels))
    ]


def write_coco(
    path: str | os.PathLike[str],
    images: Iterable[tuple[str, np.ndarray]],
    *,
    labels: LabelSet = CLOTHES_LABELS,
    info: Mapping[str, Any] | None = None,
) -> int:
    """Write a COCO file of ``(file_name, label_map)`` pairs: ``images`` (ids from 1, file
    name, width, height), ``categories`` (`coco_categories`) and ``annotations``
    (`encode_annotations`). The label maps are read one at a time, never all held.

    Returns the number of images written. The file is written in place; write it to a temporary
    name and rename it where a torn file must never be seen.

    Example:
        >>> import json, tempfile
        >>> import numpy as np
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_coco(folder / "coco.json", [("look.jpg", np.array([[0, 4]], dtype=np.uint8))])
        1
        >>> data = json.loads((folder / "coco.json").read_text())
        >>> data["images"], data["annotations"][0]["category_id"]
        ([{'id': 1, 'file_name': 'look.jpg', 'width': 2, 'height': 1}], 4)
    """
    written: list[dict[str, Any]] = []
    next_id = 1
    with Path(path).open("w", encoding="utf-8") as out:
        out.write('{"info": ' + json.dumps(dict(info or {"description": "segformer-clothes"})))
        out.write(', "categories": ' + json.dumps(coco_categories(labels)))
        out.write(', "annotations": [')
        for image_id, (file_name, label_map) in enumerate(images, start=1):
            height, width = np.shape(label_map)
            written.append(
                {"id": image_id, "file_name": file_name, "width": width, "height": height}
            )
            found = encode_annotations(
                label_map, labels=labels, image_id=image_id, first_id=next_id
            )
            for annotation in found:
                out.write((", " if next_id > 1 else "") + json.dumps(annotation))
                next_id += 1
        out.write('], "images": ')
        _write_list(out, written)
        out.write("}\n")
    return len(written)


def _write_list(out: Any, items: Sequence[Mapping[str, Any]]) -> None:
    out.write("[" + ", ".join(json.dumps(item) for item in items) + "]")
