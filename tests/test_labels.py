from __future__ import annotations

import pytest

from segformer_clothes.labels import CLOTHES_LABELS, CLOTHES_NAMES, DEFAULT_PALETTE, LabelSet


def test_the_18_clothes_classes_have_the_models_ids() -> None:
    assert len(CLOTHES_LABELS) == 18
    assert CLOTHES_LABELS.name(0) == "Background"
    assert CLOTHES_LABELS.name(4) == "Upper-clothes"
    assert CLOTHES_LABELS.name(9) == "Left-shoe"
    assert CLOTHES_LABELS.name(17) == "Scarf"
    assert list(CLOTHES_LABELS) == list(CLOTHES_NAMES)


@pytest.mark.parametrize("name", ["upper-clothes", "UPPER-CLOTHES", "Upper-clothes"])
def test_names_are_looked_up_ignoring_case(name: str) -> None:
    assert CLOTHES_LABELS.id(name) == 4
    assert CLOTHES_LABELS.name(name) == "Upper-clothes"
    assert name in CLOTHES_LABELS


def test_groups() -> None:
    assert CLOTHES_LABELS.ids("shoes") == (9, 10)
    assert CLOTHES_LABELS.ids("arms") == (14, 15)
    assert CLOTHES_LABELS.ids("legs") == (12, 13)
    garments = {CLOTHES_LABELS.name(i) for i in CLOTHES_LABELS.ids("garments")}
    assert garments == {
        "Hat",
        "Sunglasses",
        "Upper-clothes",
        "Skirt",
        "Pants",
        "Dress",
        "Belt",
        "Left-shoe",
        "Right-shoe",
        "Bag",
        "Scarf",
    }
    body = {CLOTHES_LABELS.name(i) for i in CLOTHES_LABELS.ids("Body")}
    assert body == {"Hair", "Face", "Left-leg", "Right-leg", "Left-arm", "Right-arm"}
    # Every class but Background is a garment or a body part, never both.
    assert garments.isdisjoint(body)
    assert garments | body | {"Background"} == set(CLOTHES_NAMES)


def test_ids_of_a_single_label_or_id() -> None:
    assert CLOTHES_LABELS.ids("pants") == (6,)
    assert CLOTHES_LABELS.ids(6) == (6,)


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError) as caught:
        CLOTHES_LABELS.id("Shirt")
    message = str(caught.value)
    assert "'Shirt'" in message
    assert "Upper-clothes" in message
    assert "shoes" in message  # groups are listed too


@pytest.mark.parametrize("bad", [-1, 18, 255])
def test_out_of_range_id(bad: int) -> None:
    with pytest.raises(KeyError, match="outside 0..17"):
        CLOTHES_LABELS.id(bad)
    assert bad not in CLOTHES_LABELS


@pytest.mark.parametrize("bad", [1.5, None, True, b"Hat"])
def test_other_types_are_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="name .* or a class id"):
        CLOTHES_LABELS.id(bad)  # type: ignore[arg-type]


def test_palette_has_18_distinct_colours() -> None:
    assert len(DEFAULT_PALETTE) == 18
    assert len(set(DEFAULT_PALETTE)) == 18
    # People must tell them apart: no two colours closer than a visible distance.
    for i, a in enumerate(DEFAULT_PALETTE):
        for b in DEFAULT_PALETTE[i + 1 :]:
            assert sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5 > 40
    assert CLOTHES_LABELS.color("Scarf") == DEFAULT_PALETTE[17]
    flat = CLOTHES_LABELS.palette_array()
    assert len(flat) == 768
    assert flat[3 * 4 : 3 * 5] == list(DEFAULT_PALETTE[4])


def test_palette_wraps_by_index() -> None:
    labels = LabelSet([f"class{i}" for i in range(20)], palette=[(1, 2, 3), (4, 5, 6)])
    assert labels.color(0) == (1, 2, 3)
    assert labels.color(19) == (4, 5, 6)


def test_from_id2label() -> None:
    assert (
        LabelSet.from_id2label({str(i): n for i, n in enumerate(CLOTHES_NAMES)}) is CLOTHES_LABELS
    )
    other = LabelSet.from_id2label({1: "person", 0: "background"})
    assert other.names == ("background", "person")
    assert other.groups == {}
    with pytest.raises(ValueError, match="without gaps"):
        LabelSet.from_id2label({0: "a", 2: "b"})


def test_invalid_label_sets() -> None:
    with pytest.raises(ValueError, match="unique"):
        LabelSet(["cat", "Cat"])
    with pytest.raises(ValueError, match="1 to 256"):
        LabelSet([])
    with pytest.raises(ValueError, match="outside"):
        LabelSet(["a", "b"], groups={"both": (0, 2)})
    with pytest.raises(ValueError, match="same name as a label"):
        LabelSet(["a", "b"], groups={"A": (0,)})
    with pytest.raises(ValueError, match="r, g, b"):
        LabelSet(["a"], palette=[(1, 2)])


def test_label_sets_compare_by_names_and_palette() -> None:
    assert LabelSet(CLOTHES_NAMES) == LabelSet(list(CLOTHES_NAMES))
    assert LabelSet(["a"]) != LabelSet(["b"])
    assert "18 labels" in repr(CLOTHES_LABELS)


def test_label_sets_and_results_pickle() -> None:
    import pickle

    import numpy as np

    from segformer_clothes import SegmentationResult

    copy = pickle.loads(pickle.dumps(CLOTHES_LABELS))
    assert copy == CLOTHES_LABELS
    assert copy.ids("shoes") == (9, 10)
    result = SegmentationResult(np.eye(3, dtype=np.uint8) * 4, source="a.jpg")
    unpickled = pickle.loads(pickle.dumps(result))
    assert unpickled == result
    assert not unpickled.label_map.flags.writeable
