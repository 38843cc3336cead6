"""The files `segformer-clothes segment` writes for one photo, and whether they are all there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..catalogue import Photo, write_atomically
from ..images import load_image
from ..result import SegmentationResult

__all__ = ["Outputs"]


class Outputs:
    """The files one photo gets under the output folder, and whether they are all there."""

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

    def write(self, photo: Photo, result: SegmentationResult) -> list[str]:
        """Write every output of one photo; the label map last. Returns the crop labels."""
        written: list[str] = []
        if self.overlay or self.crops:
            picture = load_image(photo.path)
            if self.crops:
                for label, cutout in result.crops(picture).items():
                    write_atomically(
                        self.crop_path(photo.name, label),
                        lambda p, c=cutout: c.save(p, format="PNG"),
                    )
                    written.append(label)
            if self.overlay:
                overlay = result.overlay(picture, **self.overlay_style)
                write_atomically(
                    self.overlay_path(photo.name),
                    lambda p: overlay.save(p, format="JPEG", quality=90),
                )
        write_atomically(self.label_map(photo.name), lambda p: result.save(p))
        return written
