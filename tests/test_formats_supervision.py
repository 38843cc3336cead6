"""SegmentationResult.to_supervision against the real supervision package (installed in the
tests_local session, with the other heavy extras: marker `local`)."""

from __future__ import annotations

import numpy as np
import pytest

from segformer_clothes import CLOTHES_LABELS, SegmentationResult
from segformer_clothes.formats.supervision import from_detections

pytestmark = [
    pytest.mark.local,
    # supervision says it falls back to NumPy where OpenCV is not installed: not our concern.
    pytest.mark.filterwarnings("ignore:OpenCV:UserWarning"),
]


def drawn_result() -> SegmentationResult:
    label_map = np.zeros((60, 40), dtype=np.uint8)
    label_map[5:30, 10:30] = 4  # Upper-clothes
    label_map[30:55, 12:28] = 6  # Pants
    label_map[55:60, 12:18] = 9  # Left-shoe
    return SegmentationResult(label_map)


def test_to_supervision_gives_detections_with_masks_ids_names_and_boxes() -> None:
    import supervision as sv

    result = drawn_result()
    detections = result.to_supervision()
    assert isinstance(detections, sv.Detections)
    assert len(detections) == 3
    assert detections.class_id.tolist() == [4, 6, 9]
    assert detections.data["class_name"].tolist() == ["Upper-clothes", "Pants", "Left-shoe"]
    for mask, class_id in zip(detections.mask, detections.class_id, strict=True):
        assert np.array_equal(mask, result.mask(int(class_id)))
    assert detections.xyxy.tolist()[0] == [10.0, 5.0, 29.0, 29.0]  # as supervision boxes masks
    assert detections.area.tolist() == [25 * 20, 25 * 16, 5 * 6]


def test_supervision_tools_take_them_and_they_come_back_exactly() -> None:
    import supervision as sv

    result = drawn_result()
    detections = result.to_supervision()
    picked = detections[detections.class_id == 6]  # supervision's own filtering
    assert picked.data["class_name"].tolist() == ["Pants"]
    painted = sv.MaskAnnotator().annotate(np.zeros((60, 40, 3), np.uint8), detections)
    assert painted.shape == (60, 40, 3)
    assert painted.any()
    back = SegmentationResult(from_detections(detections), labels=CLOTHES_LABELS)
    assert back == result


def test_a_result_of_background_only_has_no_detections() -> None:
    detections = SegmentationResult(np.zeros((4, 4), np.uint8)).to_supervision()
    assert len(detections) == 0
