"""`EvaluationReport`: the scores of a dataset, per class and per image, as JSON or Markdown."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..labels import LabelSet
from ._figures import class_iou_figure, confusion_figure
from ._scores import scores_from_matrix

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ClassScores", "EvaluationReport", "ImageScores"]


@attrs.frozen
class ClassScores:
    """The scores of one class over the whole dataset (NaN where the ratio is 0/0).

    Attributes:
        iou: TP / (TP + FP + FN), the intersection over union.
        dice: 2TP / (2TP + FP + FN), the F1 score of the pixels.
        precision: TP / (TP + FP), the share of the predicted pixels that are right.
        recall: TP / (TP + FN), the share of the annotated pixels that were found.
        target_pixels: pixels annotated with this class.
        predicted_pixels: pixels predicted as this class.

    Example:
        >>> scores = ClassScores(0.5, 2 / 3, 1.0, 0.5, 4, 2)
        >>> scores.dice > scores.iou
        True
    """

    iou: float
    dice: float
    precision: float
    recall: float
    target_pixels: int
    predicted_pixels: int


@attrs.frozen
class ImageScores:
    """The scores of one image, to find the worst ones.

    Attributes:
        name: the file stem (or the image's position when it came as an array).
        pixel_accuracy: share of the image's scored pixels predicted right.
        mean_iou: mean IoU over the classes in the image's annotation or prediction.

    Example:
        >>> import numpy as np
        >>> from segformer_clothes.evaluation import evaluate
        >>> good, bad = np.zeros((2, 2), np.uint8), np.full((2, 2), 4, np.uint8)
        >>> [record.name for record in evaluate([good, bad], [good, good]).per_image]
        ['1', '0']
    """

    name: str
    pixel_accuracy: float
    mean_iou: float


def _worst_first(records: Iterable[ImageScores]) -> tuple[ImageScores, ...]:
    # NaN (an image whose pixels were all ignored) goes last; ties keep the input order.
    return tuple(sorted(records, key=lambda r: (math.isnan(r.mean_iou), r.mean_iou)))


def _read_only(matrix: np.ndarray) -> np.ndarray:
    copy = np.array(matrix, dtype=np.int64)
    copy.flags.writeable = False
    return copy


def _frozen_mapping(value: Mapping[str, ClassScores]) -> Mapping[str, ClassScores]:
    return MappingProxyType(dict(value))


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _shown(value: float, digits: int = 3) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if index >= numeric_from else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        "-" * (w - 1) + ":" if i >= numeric_from else ":" + "-" * (w - 1)
        for i, w in enumerate(widths)
    ]
    return [line(header), line(rule), *(line(row) for row in rows)]


@attrs.frozen
class EvaluationReport:
    """How accurate a segmentation is over a dataset, the scores pooled over all its images.

    The confusion matrix is summed over every image, then each class gets IoU, Dice,
    precision and recall (as HF evaluate's mean_iou, mmsegmentation and torchmetrics
    compute them). A class with no annotated and no predicted pixel has NaN scores
    and is left out of the means (a mean over all classes, Background included).

    Attributes:
        mean_iou: mean IoU over the classes that occur (NaN when nothing was scored).
        mean_dice: mean Dice over the same classes.
        pixel_accuracy: share of the scored pixels predicted right.
        per_class: class name -> `ClassScores`, every class in id order, Background included.
        per_image: one `ImageScores` per image, sorted by ascending mean IoU (worst first).
        labels: the classes scored (merged ones when left and right sides were merged).
        confusion_matrix: read-only int64 counts; rows are annotations, columns predictions.

    Example:
        >>> import numpy as np
        >>> from segformer_clothes.evaluation import evaluate
        >>> target = np.array([[0, 0], [4, 4]], dtype=np.uint8)
        >>> report = evaluate([np.array([[0, 4], [4, 4]], dtype=np.uint8)], [target])
        >>> round(report.mean_iou, 3), report.per_class["Upper-clothes"].recall
        (0.583, 1.0)
    """

    mean_iou: float
    mean_dice: float
    pixel_accuracy: float
    per_class: Mapping[str, ClassScores] = attrs.field(converter=_frozen_mapping)
    per_image: tuple[ImageScores, ...] = attrs.field(converter=_worst_first)
    labels: LabelSet = attrs.field(repr=False)
    confusion_matrix: np.ndarray = attrs.field(
        converter=_read_only, eq=attrs.cmp_using(eq=np.array_equal), repr=False
    )

    @classmethod
    def from_matrix(
        cls,
        matrix: np.ndarray,
        *,
        labels: LabelSet,
        per_image: Iterable[ImageScores] = (),
    ) -> EvaluationReport:
        """Score a confusion matrix (rows: annotations, columns: predictions)."""
        scores = scores_from_matrix(matrix)
        per_class = {
            name: ClassScores(
                iou=float(scores.iou[i]),
                dice=float(scores.dice[i]),
                precision=float(scores.precision[i]),
                recall=float(scores.recall[i]),
                target_pixels=int(scores.target_pixels[i]),
                predicted_pixels=int(scores.predicted_pixels[i]),
            )
            for i, name in enumerate(labels.names)
        }
        return cls(
            mean_iou=scores.mean_iou,
            mean_dice=scores.mean_dice,
            pixel_accuracy=scores.pixel_accuracy,
            per_class=per_class,
            per_image=per_image,
            labels=labels,
            confusion_matrix=matrix,
        )

    @property
    def num_images(self) -> int:
        """How many images were scored."""
        return len(self.per_image)

    @property
    def total_pixels(self) -> int:
        """How many pixels were scored (ignored pixels excluded)."""
        return int(self.confusion_matrix.sum())

    def to_dict(self) -> dict[str, Any]:
        """The report as plain Python data, NaN written as None (see `to_json`)."""
        return {
            "mean_iou": _json_number(self.mean_iou),
            "mean_dice": _json_number(self.mean_dice),
            "pixel_accuracy": _json_number(self.pixel_accuracy),
            "num_images": self.num_images,
            "total_pixels": self.total_pixels,
            "per_class": {
                name: {
                    "iou": _json_number(scores.iou),
                    "dice": _json_number(scores.dice),
                    "precision": _json_number(scores.precision),
                    "recall": _json_number(scores.recall),
                    "target_pixels": scores.target_pixels,
                    "predicted_pixels": scores.predicted_pixels,
                }
                for name, scores in self.per_class.items()
            },
            "per_image": [
                {
                    "name": image.name,
                    "pixel_accuracy": _json_number(image.pixel_accuracy),
                    "mean_iou": _json_number(image.mean_iou),
                }
                for image in self.per_image
            ],
            "labels": list(self.labels.names),
            "confusion_matrix": self.confusion_matrix.tolist(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text: top-level ``mean_iou``, ``mean_dice``, ``pixel_accuracy``,
        ``per_class`` (name -> scores), ``per_image`` (worst first), ``labels`` and
        ``confusion_matrix``. NaN (a 0/0 score) is written as ``null``, so any JSON reader
        takes it.

        Example:
            >>> import json, numpy as np
            >>> from segformer_clothes.evaluation import evaluate
            >>> report = evaluate([np.zeros((2, 2), np.uint8)], [np.zeros((2, 2), np.uint8)])
            >>> json.loads(report.to_json())["per_class"]["Hat"]["iou"] is None
            True
        """
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def _repr_html_(self) -> str:
        """What a notebook shows for a bare ``report``: the means and the per-class table."""
        head = html.escape(self.to_markdown(worst=0).splitlines()[0].replace("**", ""))
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{_shown(s.iou)}</td><td>{_shown(s.dice)}</td>"
            f"<td>{s.target_pixels:,}</td><td>{s.predicted_pixels:,}</td></tr>"
            for name, s in self.per_class.items()
        )
        return (
            f"<p>{head}</p><table><tr><th>Class</th><th>IoU</th><th>Dice</th>"
            f"<th>Annotated px</th><th>Predicted px</th></tr>{rows}</table>"
        )

    def to_markdown(self, worst: int = 10) -> str:
        """A Markdown summary people can paste: the means, a per-class table in id order
        and the ``worst`` images (0 leaves that table out). NaN is shown as ``n/a``.

        Example:
            >>> import numpy as np
            >>> from segformer_clothes.evaluation import evaluate
            >>> report = evaluate([np.zeros((2, 2), np.uint8)], [np.zeros((2, 2), np.uint8)])
            >>> print(report.to_markdown().splitlines()[0])
            **Mean IoU 1.000**, mean Dice 1.000, pixel accuracy 1.000 (1 image, 4 pixels)
        """
        images = f"{self.num_images} image{'s' if self.num_images != 1 else ''}"
        lines = [
            f"**Mean IoU {_shown(self.mean_iou)}**, mean Dice {_shown(self.mean_dice)}, "
            f"pixel accuracy {_shown(self.pixel_accuracy)} ({images}, "
            f"{self.total_pixels:,} pixels)",
            "",
        ]
        header = ["Class", "IoU", "Dice", "Precision", "Recall", "Annotated px", "Predicted px"]
        rows = [
            [
                name,
                _shown(s.iou),
                _shown(s.dice),
                _shown(s.precision),
                _shown(s.recall),
                f"{s.target_pixels:,}",
                f"{s.predicted_pixels:,}",
            ]
            for name, s in self.per_class.items()
        ]
        lines += _table(header, rows, numeric_from=1)
        if worst > 0 and self.per_image:
            shown = self.per_image[:worst]
            lines += ["", f"Worst {len(shown)} of {self.num_images} images by mean IoU:", ""]
            lines += _table(
                ["Image", "Mean IoU", "Pixel accuracy"],
                [[r.name, _shown(r.mean_iou), _shown(r.pixel_accuracy)] for r in shown],
                numeric_from=1,
            )
        return "\n".join(lines) + "\n"

    def plot(self, kind: str = "iou", *, ax: Axes | None = None) -> Figure:
        """Draw the report with matplotlib (the ``plot`` extra).

        Args:
            kind: ``"iou"`` for a bar chart of the IoU of each class, ``"confusion"`` for the
                row-normalised confusion matrix as a heatmap with the class names.
            ax: draw into these axes; a new figure is made when None.

        Returns:
            The matplotlib figure (save it with ``figure.savefig(path)``).

        Raises:
            ImportError: matplotlib is not installed; ``pip install "segformer-clothes[plot]"``.
            ValueError: an unknown ``kind``.
        """
        if kind == "iou":
            names = list(self.per_class)
            return class_iou_figure(
                names,
                [self.per_class[name].iou for name in names],
                [self.labels.color(name) for name in names],
                self.mean_iou,
                ax,
            )
        if kind == "confusion":
            return confusion_figure(self.confusion_matrix, self.labels.names, ax)
        raise ValueError(f"kind must be 'iou' or 'confusion', got {kind!r}")
