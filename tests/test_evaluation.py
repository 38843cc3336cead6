"""ConfusionMatrix and evaluate() against an independent reference written with per-class loops."""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segformer_clothes import CLOTHES_LABELS, LabelSet, SegmentationResult
from segformer_clothes.evaluation import (
    ClassScores,
    ConfusionMatrix,
    EvaluationReport,
    ImageScores,
    evaluate,
    merge_sides,
)

NAN = math.nan


# A ConfusionMatrix counts uint8 label maps of 65,536 pixels or more with one 256 x 256
# histogram, and smaller ones (or other integer types) another way. Both must agree.
HISTOGRAM_PIXELS = 1 << 16
Sized = Callable[..., tuple[np.ndarray, np.ndarray]]


@pytest.fixture(params=["histogram", "general"])
def sized(request: pytest.FixtureRequest) -> Sized:
    """Run a test on both ways of counting: "histogram" widens a small pair of label maps to
    65,536 pixels with columns annotated ``ignore`` (counted nowhere, so every score and count
    stays the same; with ``ignore=None``, Background in both), "general" leaves it small."""

    def widen(
        prediction: np.ndarray, target: np.ndarray, ignore: int | None = 255
    ) -> tuple[np.ndarray, np.ndarray]:
        height, width = target.shape
        extra = -(-HISTOGRAM_PIXELS // height) - width
        if request.param == "general" or extra <= 0:
            return prediction, target
        columns = ((0, 0), (0, extra))
        wide_target = np.pad(target, columns, constant_values=0 if ignore is None else ignore)
        return np.pad(prediction, columns, constant_values=0), wide_target

    return widen


# The fixture only widens arrays: sharing it between examples is what is wanted.
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


def reference_scores(
    predictions: list[np.ndarray], targets: list[np.ndarray], num_classes: int, ignore: int | None
) -> dict[str, Any]:
    """The pooled definitions (sum over the images, then divide), one class at a time with
    boolean masks."""
    per_class = []
    correct = total = 0
    for class_id in range(num_classes):
        tp = fp = fn = 0
        for prediction, target in zip(predictions, targets, strict=True):
            scored = np.ones(target.shape, bool) if ignore is None else target != ignore
            predicted = (prediction == class_id) & scored
            annotated = (target == class_id) & scored
            tp += int((predicted & annotated).sum())
            fp += int((predicted & ~annotated).sum())
            fn += int((~predicted & annotated).sum())
        per_class.append(
            {
                "iou": tp / (tp + fp + fn) if tp + fp + fn else NAN,
                "dice": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else NAN,
                "precision": tp / (tp + fp) if tp + fp else NAN,
                "recall": tp / (tp + fn) if tp + fn else NAN,
                "target_pixels": tp + fn,
                "predicted_pixels": tp + fp,
            }
        )
    for prediction, target in zip(predictions, targets, strict=True):
        scored = np.ones(target.shape, bool) if ignore is None else target != ignore
        correct += int(((prediction == target) & scored).sum())
        total += int(scored.sum())

    def mean(key: str) -> float:
        values = [c[key] for c in per_class if not math.isnan(c[key])]
        return sum(values) / len(values) if values else NAN

    return {
        "per_class": per_class,
        "mean_iou": mean("iou"),
        "mean_dice": mean("dice"),
        "pixel_accuracy": correct / total if total else NAN,
    }


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def assert_matches_reference(
    report: EvaluationReport,
    predictions: list[np.ndarray],
    targets: list[np.ndarray],
    ignore: int | None = 255,
) -> None:
    expected = reference_scores(predictions, targets, len(report.labels), ignore)
    for key in ("mean_iou", "mean_dice", "pixel_accuracy"):
        assert same(getattr(report, key), expected[key]), key
    assert list(report.per_class) == list(report.labels.names)
    for scores, wanted in zip(report.per_class.values(), expected["per_class"], strict=True):
        for key, value in wanted.items():
            assert same(getattr(scores, key), value), (key, scores, wanted)


# ---------------------------------------------------------------------- the cases of the issue


def test_absent_classes_are_nan_and_left_out_of_the_means(sized: Sized) -> None:
    target = np.array([[0, 0, 4, 4]], dtype=np.uint8)
    prediction = np.array([[0, 4, 4, 4]], dtype=np.uint8)
    prediction, target = sized(prediction, target)
    report = evaluate([prediction], [target])
    assert math.isnan(report.per_class["Hat"].iou)
    assert math.isnan(report.per_class["Hat"].precision)
    assert report.per_class["Hat"].target_pixels == 0
    # Background IoU 1/2, Upper-clothes 2/3: the mean ignores the 16 absent classes.
    assert report.mean_iou == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert report.mean_dice == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert report.pixel_accuracy == 0.75


def test_a_class_only_predicted_scores_zero_not_nan() -> None:
    target = np.zeros((2, 2), np.uint8)
    prediction = np.array([[0, 0], [0, 1]], np.uint8)
    hat = evaluate([prediction], [target]).per_class["Hat"]
    assert hat.iou == 0.0
    assert hat.precision == 0.0
    assert math.isnan(hat.recall)


def test_ignored_pixels_count_nowhere(sized: Sized) -> None:
    target = np.array([[255, 255, 4, 0]], dtype=np.uint8)
    prediction = np.array([[6, 6, 4, 0]], dtype=np.uint8)  # wrong only where ignored
    prediction, target = sized(prediction, target)
    report = evaluate([prediction], [target])
    assert report.pixel_accuracy == 1.0
    assert report.mean_iou == 1.0
    assert report.per_class["Pants"].predicted_pixels == 0
    assert report.total_pixels == 2
    assert report.confusion_matrix.sum() == 2


def test_ignore_index_can_be_another_value_or_none() -> None:
    target = np.array([[0, 3, 3]], dtype=np.int32)
    prediction = np.array([[0, 1, 1]], dtype=np.int32)
    labels = LabelSet(["a", "b", "c", "d"])
    ignoring_three = evaluate([prediction], [target], labels=labels, ignore_index=3)
    assert ignoring_three.pixel_accuracy == 1.0
    counting_all = evaluate([prediction], [target], labels=labels, ignore_index=None)
    assert counting_all.pixel_accuracy == pytest.approx(1 / 3)


def test_a_single_class() -> None:
    label_map = np.full((3, 5), 7, dtype=np.uint8)
    report = evaluate([label_map], [label_map.copy()])
    assert report.mean_iou == report.mean_dice == report.pixel_accuracy == 1.0
    assert [name for name, s in report.per_class.items() if not math.isnan(s.iou)] == ["Dress"]


def test_all_wrong(sized: Sized) -> None:
    target = np.zeros((4, 4), np.uint8)
    prediction = np.full((4, 4), 4, np.uint8)
    prediction, target = sized(prediction, target)
    report = evaluate([prediction], [target])
    assert report.pixel_accuracy == 0.0
    assert report.mean_iou == 0.0
    assert report.mean_dice == 0.0
    assert report.per_class["Upper-clothes"].precision == 0.0


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64])
@pytest.mark.parametrize("bad", [18, 200])
def test_a_prediction_outside_the_classes_raises_and_counts_nothing(
    sized: Sized, dtype: Any, bad: int
) -> None:
    matrix = ConfusionMatrix()
    target = np.zeros((3, 3), np.uint8)
    prediction = np.zeros((3, 3), dtype)
    prediction[1, 1] = bad
    prediction, target = sized(prediction, target)
    with pytest.raises(ValueError, match=rf"prediction holds class id {bad}, outside 0\.\.17"):
        matrix.update(prediction, target)
    assert matrix.total_pixels == 0
    assert matrix.num_images == 0


def test_a_negative_prediction_raises(sized: Sized) -> None:
    with pytest.raises(ValueError, match="class id -1"):
        ConfusionMatrix().update(*sized(np.array([[0, -1]]), np.array([[0, 0]])))


def test_a_prediction_outside_the_classes_raises_even_where_the_annotation_is_ignored(
    sized: Sized,
) -> None:
    pair = sized(np.array([[40, 0]], np.uint8), np.array([[255, 0]], np.uint8))
    with pytest.raises(ValueError, match="prediction holds class id 40"):
        ConfusionMatrix().update(*pair)


@pytest.mark.parametrize("dtype", [np.uint8, np.int32])
def test_an_annotation_outside_the_classes_raises(sized: Sized, dtype: Any) -> None:
    pair = sized(np.zeros((1, 2), dtype), np.array([[0, 30]], dtype))
    with pytest.raises(ValueError, match=r"annotation holds class id 30, outside 0\.\.17"):
        ConfusionMatrix().update(*pair)


def test_shapes_that_differ_raise_naming_both() -> None:
    with pytest.raises(ValueError, match=r"prediction is 4x3 .* annotation is 3x4"):
        ConfusionMatrix().update(np.zeros((3, 4), np.uint8), np.zeros((4, 3), np.uint8))


@pytest.mark.parametrize("value", [np.zeros((2, 2), np.float32), np.zeros((2, 2, 3), np.uint8)])
def test_what_is_not_a_label_map_is_refused(value: np.ndarray) -> None:
    with pytest.raises((TypeError, ValueError), match="prediction"):
        ConfusionMatrix().update(value, np.zeros((2, 2), np.uint8))


def test_uint8_and_int_inputs_give_the_same_counts(sized: Sized) -> None:
    rng = np.random.default_rng(3)
    target = rng.integers(0, 18, (37, 41)).astype(np.uint8)
    target[:5] = 255
    prediction = rng.integers(0, 18, (37, 41)).astype(np.uint8)
    prediction, target = sized(prediction, target)
    counts = {}
    for dtype in (np.uint8, np.int32, np.int64, np.uint16):
        matrix = ConfusionMatrix()
        matrix.update(prediction.astype(dtype), target.astype(dtype))
        counts[dtype] = matrix.matrix
    for value in counts.values():
        np.testing.assert_array_equal(value, counts[np.uint8])
    assert_matches_reference(evaluate([prediction], [target]), [prediction], [target])


def test_uint8_counts_do_not_overflow_and_images_larger_than_a_chunk_are_counted() -> None:
    # 1.1 million pixels: more than one scratch chunk, and counts far above 255.
    target = np.full((1100, 1000), 17, np.uint8)
    prediction = target.copy()
    prediction[:100] = 16
    matrix = ConfusionMatrix()
    matrix.update(prediction, target)
    assert matrix.matrix[17, 17] == 1000 * 1000
    assert matrix.matrix[17, 16] == 100 * 1000
    assert matrix.total_pixels == 1100 * 1000


def test_update_returns_the_image_counts_and_the_matrix_is_read_only() -> None:
    matrix = ConfusionMatrix(num_classes=3)
    counts = matrix.update(np.array([[0, 1]]), np.array([[0, 2]]))
    assert counts.tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]
    with pytest.raises(ValueError, match="read-only"):
        matrix.matrix[0, 0] = 5


def test_num_classes_without_labels_names_the_classes_by_id() -> None:
    report = ConfusionMatrix(num_classes=3).report()
    assert list(report.per_class) == ["class 0", "class 1", "class 2"]
    assert math.isnan(report.mean_iou)


def test_num_classes_that_disagree_with_the_labels_raise() -> None:
    with pytest.raises(ValueError, match="num_classes=5 but the label set has 18"):
        ConfusionMatrix(num_classes=5, labels=CLOTHES_LABELS)


def test_merge_of_different_setups_raises() -> None:
    with pytest.raises(ValueError, match="different set-ups"):
        ConfusionMatrix().merge(ConfusionMatrix(ignore_index=0))


def test_a_confusion_matrix_pickles_for_other_processes() -> None:
    matrix = ConfusionMatrix()
    matrix.update(np.ones((4, 4), np.uint8), np.ones((4, 4), np.uint8), name="a")
    copy = pickle.loads(pickle.dumps(matrix))
    np.testing.assert_array_equal(copy.matrix, matrix.matrix)
    assert copy.report().per_image == matrix.report().per_image
    assert len(pickle.dumps(matrix)) < 10_000  # the scratch buffer is not pickled


# ---------------------------------------------------------------------- properties

N_CLASSES = 6
SMALL_LABELS = LabelSet([f"c{i}" for i in range(N_CLASSES)])


@st.composite
def image_pairs(draw: st.DrawFn, dtype: Any = np.uint8) -> tuple[np.ndarray, np.ndarray]:
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12))
    prediction = draw(hnp.arrays(dtype, shape, elements=st.integers(0, N_CLASSES - 1)))
    target = draw(hnp.arrays(dtype, shape, elements=st.integers(0, N_CLASSES - 1) | st.just(255)))
    return prediction, target


@given(pairs=st.lists(image_pairs(), min_size=1, max_size=4))
@settings(suppress_health_check=FIXTURE_OK, max_examples=40, deadline=None)
def test_evaluate_matches_the_reference(
    sized: Sized, pairs: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    pairs = [sized(p, t) for p, t in pairs]
    predictions = [p for p, _ in pairs]
    targets = [t for _, t in pairs]
    report = evaluate(predictions, targets, labels=SMALL_LABELS)
    assert_matches_reference(report, predictions, targets)
    assert len(report.per_image) == len(pairs)


@given(pairs=st.lists(image_pairs(np.int32), min_size=1, max_size=3))
@settings(max_examples=30, deadline=None)
def test_int_inputs_match_the_reference(pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
    predictions = [p for p, _ in pairs]
    targets = [t for _, t in pairs]
    report = evaluate(predictions, targets, labels=SMALL_LABELS)
    assert_matches_reference(report, predictions, targets)


@given(pairs=st.lists(image_pairs(), min_size=2, max_size=6), cut=st.integers(0, 6))
@settings(suppress_health_check=FIXTURE_OK, max_examples=30, deadline=None)
def test_merging_two_halves_gives_the_whole(
    sized: Sized, pairs: list[tuple[np.ndarray, np.ndarray]], cut: int
) -> None:
    pairs = [sized(p, t) for p, t in pairs]
    whole = ConfusionMatrix(labels=SMALL_LABELS)
    first = ConfusionMatrix(labels=SMALL_LABELS)
    second = ConfusionMatrix(labels=SMALL_LABELS)
    for index, (prediction, target) in enumerate(pairs):
        whole.update(prediction, target, name=str(index))
        (first if index < cut else second).update(prediction, target, name=str(index))
    merged = first.merge(second)
    np.testing.assert_array_equal(merged.matrix, whole.matrix)
    assert merged.report() == whole.report() or _same_report(merged.report(), whole.report())
    assert (first + second).total_pixels == whole.total_pixels
    assert first.num_images + second.num_images == len(pairs)  # inputs are unchanged


def _same_report(a: EvaluationReport, b: EvaluationReport) -> bool:
    # NaN != NaN, so compare the JSON forms (NaN written as null).
    return a.to_json() == b.to_json()


@given(pair=image_pairs())
@settings(max_examples=40, deadline=None)
def test_scores_stay_in_range_and_dice_is_at_least_iou(pair: tuple[np.ndarray, np.ndarray]) -> None:
    report = evaluate([pair[0]], [pair[1]], labels=SMALL_LABELS)
    for scores in report.per_class.values():
        for value in (scores.iou, scores.dice, scores.precision, scores.recall):
            assert math.isnan(value) or 0.0 <= value <= 1.0
        if not math.isnan(scores.iou):
            assert scores.dice >= scores.iou - 1e-12


# ---------------------------------------------------------------------- evaluate() inputs


def test_per_image_records_are_worst_first_with_nan_last() -> None:
    good = np.zeros((2, 2), np.uint8)
    bad = np.full((2, 2), 4, np.uint8)
    ignored = np.full((2, 2), 255, np.uint8)
    report = evaluate([good, bad, good, good], [good, good, ignored, good])
    assert [r.name for r in report.per_image] == ["1", "0", "3", "2"]
    assert report.per_image[0] == ImageScores(name="1", pixel_accuracy=0.0, mean_iou=0.0)
    assert math.isnan(report.per_image[-1].mean_iou)


def test_per_image_mean_iou_uses_the_classes_of_that_image() -> None:
    target = np.array([[0, 4]], np.uint8)
    prediction = np.array([[0, 6]], np.uint8)
    record = evaluate([prediction], [target]).per_image[0]
    assert record.mean_iou == pytest.approx(1 / 3)  # Background 1, Upper-clothes 0, Pants 0
    assert record.pixel_accuracy == 0.5


def test_segmentation_results_are_accepted_and_named_by_their_source() -> None:
    label_map = np.array([[0, 4], [6, 6]], np.uint8)
    result = SegmentationResult(label_map, source="photos/look_3.jpg")
    report = evaluate([result], [label_map])
    assert report.mean_iou == 1.0
    assert report.per_image[0].name == "look_3"


def test_labels_come_from_the_results_when_not_given() -> None:
    labels = LabelSet(["sky", "tree"])
    result = SegmentationResult(np.array([[0, 1]], np.uint8), labels=labels)
    report = evaluate(result, np.array([[0, 1]], np.uint8))
    assert list(report.per_class) == ["sky", "tree"]


def test_a_stack_of_label_maps_is_several_images() -> None:
    stack = np.zeros((3, 4, 4), np.uint8)
    report = evaluate(stack, stack.copy())
    assert report.num_images == 3
    assert [r.name for r in report.per_image] == ["0", "1", "2"]


def test_generators_are_read_lazily() -> None:
    def images() -> Any:
        for _ in range(5):
            yield np.zeros((8, 8), np.uint8)

    assert evaluate(images(), images()).num_images == 5


def test_unequal_numbers_of_images_raise() -> None:
    one = [np.zeros((2, 2), np.uint8)]
    with pytest.raises(ValueError, match="more predictions than targets"):
        evaluate(one * 2, one)
    with pytest.raises(ValueError, match="more targets than predictions"):
        evaluate(one, one * 2)
    with pytest.raises(ValueError, match="no image"):
        evaluate([], [])


def test_an_error_names_the_image() -> None:
    good = np.zeros((2, 2), np.uint8)
    with pytest.raises(ValueError, match="image 1: the prediction holds class id 99"):
        evaluate([good, np.full((2, 2), 99, np.uint8)], [good, good])


# ---------------------------------------------------------------------- merged sides


def test_merge_sides_names_and_lookup() -> None:
    merged, lookup = merge_sides(CLOTHES_LABELS)
    assert merged.names == (
        "Background", "Hat", "Hair", "Sunglasses", "Upper-clothes", "Skirt", "Pants", "Dress",
        "Belt", "Shoes", "Face", "Legs", "Arms", "Bag", "Scarf",
    )  # fmt: skip
    assert lookup[CLOTHES_LABELS.id("Left-shoe")] == lookup[CLOTHES_LABELS.id("Right-shoe")] == 9
    assert merged.ids("garments") == tuple(merged.id(n) for n in (
        "Hat", "Sunglasses", "Upper-clothes", "Skirt", "Pants", "Dress", "Belt", "Shoes", "Bag",
        "Scarf",
    ))  # fmt: skip
    other, other_lookup = merge_sides(LabelSet(["bg", "left_wing", "right_wing"]))
    assert other.names == ("bg", "Wing")
    assert other_lookup.tolist() == [0, 1, 1]


def test_left_right_swaps_are_not_errors_once_sides_are_merged() -> None:
    ids = CLOTHES_LABELS
    target = np.array([[ids.id("Left-shoe"), ids.id("Right-shoe"), ids.id("Left-arm"), 0]])
    swapped = np.array([[ids.id("Right-shoe"), ids.id("Left-shoe"), ids.id("Right-arm"), 0]])
    plain = evaluate([swapped.astype(np.uint8)], [target.astype(np.uint8)])
    assert plain.pixel_accuracy == 0.25
    merged = evaluate([swapped.astype(np.uint8)], [target.astype(np.uint8)], merge_sides=True)
    assert merged.pixel_accuracy == 1.0
    assert merged.mean_iou == 1.0
    assert list(merged.per_class)[9] == "Shoes"
    assert merged.per_class["Shoes"] == ClassScores(1.0, 1.0, 1.0, 1.0, 2, 2)
    assert merged.per_image[0].mean_iou == 1.0


@given(pairs=st.lists(image_pairs(), min_size=1, max_size=3))
@settings(max_examples=30, deadline=None)
def test_merged_sides_equal_remapping_the_label_maps_first(
    pairs: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    labels = LabelSet(["bg", "Left-x", "Right-x", "y", "Left-z", "Right-z"])
    merged_labels, lookup = merge_sides(labels)
    remap = np.arange(256)
    remap[: len(lookup)] = lookup

    def remapped(a: np.ndarray) -> np.ndarray:
        return remap[a].astype(np.uint8)

    report = evaluate([p for p, _ in pairs], [t for _, t in pairs], labels=labels, merge_sides=True)
    expected = [remapped(p) for p, _ in pairs], [remapped(t) for _, t in pairs]
    assert list(report.per_class) == list(merged_labels.names)
    assert_matches_reference(report, *expected)


# ---------------------------------------------------------------------- reports


def test_json_writes_nan_as_null_and_has_the_documented_keys() -> None:
    report = evaluate([np.array([[0, 4]], np.uint8)], [np.array([[0, 0]], np.uint8)])
    text = report.to_json()

    def no_constants(name: str) -> None:
        raise AssertionError(f"{name} in the JSON")

    data = json.loads(text, parse_constant=no_constants)
    assert list(data)[:5] == [
        "mean_iou",
        "mean_dice",
        "pixel_accuracy",
        "num_images",
        "total_pixels",
    ]
    assert {"per_class", "per_image", "labels", "confusion_matrix"} <= set(data)
    assert data["per_class"]["Hat"] == {
        "iou": None, "dice": None, "precision": None, "recall": None,
        "target_pixels": 0, "predicted_pixels": 0,
    }  # fmt: skip
    assert data["per_class"]["Upper-clothes"]["recall"] is None
    assert data["per_class"]["Upper-clothes"]["precision"] == 0.0
    assert data["per_image"] == [{"name": "0", "pixel_accuracy": 0.5, "mean_iou": 0.25}]
    assert data["confusion_matrix"][0][4] == 1


def test_json_of_an_empty_matrix_is_all_null() -> None:
    data = json.loads(ConfusionMatrix().report().to_json())
    assert data["mean_iou"] is None
    assert data["pixel_accuracy"] is None
    assert data["per_image"] == []


def test_markdown_has_a_row_per_class_and_the_worst_images() -> None:
    target = np.array([[0, 4]], np.uint8)
    report = evaluate([target, np.array([[0, 6]], np.uint8)], [target, target])
    text = report.to_markdown(worst=1)
    lines = text.splitlines()
    assert lines[0].startswith("**Mean IoU 0.500**")  # (1 + 1/2 + 0) / 3
    assert "(2 images, 4 pixels)" in lines[0]
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].split("|")[1].strip() == "Class"
    assert sum(line.startswith("| Hat ") for line in table) == 1
    assert "n/a" in text
    assert "Worst 1 of 2 images by mean IoU:" in text
    assert "| 1 " in text
    # Columns line up: every row of the class table has the same length.
    class_rows = table[: 2 + len(CLOTHES_LABELS)]
    assert len({len(line) for line in class_rows}) == 1
    assert "Worst" not in report.to_markdown(worst=0)


def test_report_repr_is_short() -> None:
    report = evaluate([np.zeros((2, 2), np.uint8)], [np.zeros((2, 2), np.uint8)])
    assert "confusion_matrix" not in repr(report)
    assert "ConfusionMatrix(num_classes=18" in repr(ConfusionMatrix())


@given(pair=image_pairs(), ignore=st.sampled_from([0, 3, 5, 6, 200, 255, None]))
@settings(suppress_health_check=FIXTURE_OK, max_examples=40, deadline=None)
def test_any_ignore_index_matches_the_reference_for_uint8_and_int(
    sized: Sized, pair: tuple[np.ndarray, np.ndarray], ignore: int | None
) -> None:
    prediction, target = pair
    # The drawn 255s become the ignored value (or a class when nothing is ignored).
    target = np.where(target == 255, np.uint8(ignore or 0), target)
    prediction, target = sized(prediction, target, ignore)
    for dtype in (np.uint8, np.int64):
        report = evaluate(
            [prediction.astype(dtype)], [target.astype(dtype)], labels=SMALL_LABELS,
            ignore_index=ignore,
        )  # fmt: skip
        assert_matches_reference(report, [prediction], [target], ignore)


def test_a_notebook_shows_the_report_as_a_table() -> None:
    target = np.array([[0, 4], [4, 4]], dtype=np.uint8)
    shown = evaluate([target.copy()], [target])._repr_html_()
    assert shown.startswith("<p>Mean IoU 1.000, mean Dice 1.000")
    assert "<td>Upper-clothes</td><td>1.000</td><td>1.000</td><td>3</td><td>3</td>" in shown
    assert shown.count("<tr>") == 1 + len(CLOTHES_LABELS)
