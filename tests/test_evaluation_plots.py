"""The plots are drawn (Agg, no display) and are real, non-empty pictures."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from segformer_clothes import SegmentationResult
from segformer_clothes.evaluation import (
    EvaluationReport,
    evaluate,
    plot_class_iou,
    plot_comparison,
    plot_confusion,
)

pytest.importorskip("matplotlib")

TARGET = np.zeros((24, 16), np.uint8)
TARGET[4:14, 3:13] = 4
TARGET[14:22, 4:12] = 6
TARGET[0:2] = 255
PREDICTION = TARGET.copy()
PREDICTION[0:2] = 0
PREDICTION[12:16, 3:13] = 7


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    return evaluate([PREDICTION], [TARGET])


def rendered(figure: object) -> Image.Image:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")  # type: ignore[attr-defined]
    buffer.seek(0)
    picture = Image.open(buffer)
    picture.load()
    return picture


def assert_drawn(picture: Image.Image) -> None:
    assert picture.width > 100
    assert picture.height > 100
    pixels = np.asarray(picture.convert("RGB")).astype(np.int64)
    assert pixels.std() > 10, "the picture is blank"
    colours = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    assert len(np.unique(colours)) > 5


def test_class_iou_bar_chart(report: EvaluationReport) -> None:
    figure = report.plot("iou")
    assert_drawn(rendered(figure))
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_yticklabels()] == list(report.per_class)
    assert len(axes.patches) == len(report.per_class)


def test_confusion_heatmap_has_class_names(report: EvaluationReport) -> None:
    figure = report.plot("confusion")
    assert_drawn(rendered(figure))
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == list(report.labels.names)
    shown = axes.images[0].get_array()
    np.testing.assert_allclose(np.nansum(shown, axis=1)[[0, 4, 6]], 1.0)


def test_plots_draw_into_given_axes(report: EvaluationReport) -> None:
    from matplotlib.figure import Figure

    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert plot_class_iou(report, ax=left) is figure
    assert plot_confusion(report, ax=right) is figure
    assert_drawn(rendered(figure))


def test_an_unknown_kind_is_refused(report: EvaluationReport) -> None:
    with pytest.raises(ValueError, match="kind must be 'iou' or 'confusion'"):
        report.plot("pie")


def test_comparison_panel_with_a_photo() -> None:
    photo = np.zeros((24, 16, 3), np.uint8)
    photo[..., 0] = np.linspace(0, 255, 16, dtype=np.uint8)
    result = SegmentationResult(PREDICTION, image=Image.fromarray(photo))
    figure = plot_comparison(result, TARGET, title="look_1")
    titles = [axes.get_title() for axes in figure.axes]
    assert titles == ["photo", "annotation", "prediction", "errors (green right, red wrong)"]
    assert_drawn(rendered(figure))


def test_comparison_panel_without_a_photo() -> None:
    figure = plot_comparison(PREDICTION, TARGET)
    assert len(figure.axes) == 3
    assert_drawn(rendered(figure))


def test_comparison_of_different_sizes_is_refused() -> None:
    with pytest.raises(ValueError, match="prediction is"):
        plot_comparison(PREDICTION[:10], TARGET)
    with pytest.raises(ValueError, match="photo is 5x5"):
        plot_comparison(PREDICTION, TARGET, image=np.zeros((5, 5, 3), np.uint8))


def test_without_matplotlib_the_error_says_what_to_install(
    report: EvaluationReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "segformer-clothes\[plot\]"'):
        report.plot("iou")
