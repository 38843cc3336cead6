"""`SegmentationResult.garments`: the garments of a result, from the analysis package (loaded
only when asked for, so that results stay light)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .images import ImageInput
from .labels import LabelSet

if TYPE_CHECKING:
    from .analysis.garments import Garment


class GarmentsOfResult:
    """The garment analysis of a `SegmentationResult` (its base class)."""

    label_map: np.ndarray
    labels: LabelSet
    image: Any

    def garments(
        self,
        image: ImageInput | None = None,
        *,
        colours: int = 3,
        body: bool = False,
        merge_shoes: bool = False,
    ) -> tuple[Garment, ...]:
        """One `segformer_clothes.analysis.garments.Garment` per garment present, in class-id
        order: label, pixels, share of the photo and of the person, box, centroid, dominant
        colours, the mask as COCO RLE, and quality flags.

        Needs the ``analysis`` extra (``pip install "segformer-clothes[analysis]"``). How the
        colours are found and the flags' thresholds are in
        `segformer_clothes.analysis.garments`.

        Args:
            image: the photo the colours are taken from; defaults to the one the result keeps.
            colours: how many dominant colours to find at most (0: none, no photo needed).
            body: also give the body parts (hair, face, arms, legs).
            merge_shoes: give left and right shoes as one garment labelled ``shoes``.

        Raises:
            ValueError: no photo while colours are asked for, or a photo of another size.
            ImportError: the ``analysis`` extra is not installed.

        Example:
            >>> import numpy as np
            >>> from PIL import Image
            >>> from segformer_clothes import SegmentationResult
            >>> label_map = np.zeros((60, 40), dtype=np.uint8)
            >>> label_map[40:60, 5:15], label_map[40:60, 25:35] = 9, 10  # Left-, Right-shoe
            >>> result = SegmentationResult(label_map, image=Image.new("RGB", (40, 60), "black"))
            >>> [(g.label, g.pixels, g.colours[0].name) for g in result.garments(merge_shoes=True)]
            [('shoes', 400, 'black')]
        """
        from .analysis.garments import find_garments

        photo = (self.image if image is None else image) if colours else None
        return find_garments(
            self.label_map,
            photo,
            labels=self.labels,
            colours=colours,
            body=body,
            merge_shoes=merge_shoes,
        )
