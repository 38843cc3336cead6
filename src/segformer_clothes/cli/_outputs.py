"""The files `segformer-clothes segment` writes for one photo, and whether they are all there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..catalogue import EncodedOutputs, encode_outputs, write_atomically
from ..images import ImageInput
from ..result import SegmentationResult

__all__ = ["Outputs"]


class Outputs:
    """The files one photo gets under the output folder, and whether they are all there.

    A photo's files are encoded where it was segmented (`encode`, here or on a cluster's
    worker) and written here (`write`), by the one process that holds the folder's lock.
    """

    def __init__(
        self, out: Path, overlay: bool, crops: bool, overlay_style: dict[str, Any] | None = None
    ) -> None:
        self.out = out
        self.overlay = overlay
        self.crops = crops
        self.overlay_style = overlay_style or {}  # alpha, legend, outline

    def label_map(self, name: str) -> Path:
        return self.out / "labels" / f"{name}.png"

    def overlay_path(self, name: str) -> Path:
        return self.out / "overlays" / f"{name}.jpg"

    def crop_path(self, name: str, label: str) -> Path:
        return self.out / "crops" / name / f"{label}.png"

    def complete(self, record: dict[str, Any] | None) -> bool:
        if record is None or record.get("status") != "ok":
            return False
        name = str(record["name"])
        if not self.label_map(name).exists():
            return False
        if self.overlay and not self.overlay_path(name).exists():
            return False
        if self.crops:
            if "crops" not in record:
                return False
            return all(self.crop_path(name, label).exists() for label in record["crops"])
        return True

    def encoding(self) -> dict[str, Any]:
        """The keywords of `encode_outputs` these outputs need (also sent to a cluster)."""
        return {"overlay": self.overlay, "crops": self.crops, "overlay_style": self.overlay_style}

    def encode(self, photo: ImageInput, result: SegmentationResult) -> EncodedOutputs:
        """Every file of one photo, encoded; the photo is decoded only for overlays or crops."""
        return encode_outputs(result, photo, **self.encoding())

    def write(self, name: str, encoded: EncodedOutputs) -> list[str]:
        """Write every file of one photo; the label map last. Returns the crop labels."""
        for label, cutout in encoded.crops.items():
            write_atomically(self.crop_path(name, label), lambda p, c=cutout: p.write_bytes(c))
        if encoded.overlay is not None:
            overlay = encoded.overlay
            write_atomically(self.overlay_path(name), lambda p: p.write_bytes(overlay))
        write_atomically(self.label_map(name), lambda p: p.write_bytes(encoded.label_map))
        return list(encoded.crops)
