"""The label set of the SegFormer clothes models: ids, names, groups and colours.

`CLOTHES_LABELS` holds the 18 classes of ``sayeed99/segformer_b3_clothes`` (and of
``mattmdjaga/segformer_b2_clothes``), in the model's id order. A `LabelSet` can be built
for any other model from its ``id2label`` mapping.

Example:
    >>> from segformer_clothes.labels import CLOTHES_LABELS
    >>> CLOTHES_LABELS.id("upper-clothes")
    4
    >>> CLOTHES_LABELS.ids("shoes")
    (9, 10)
    >>> CLOTHES_LABELS.name(17)
    'Scarf'
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

import attrs

__all__ = ["CLOTHES_LABELS", "CLOTHES_NAMES", "DEFAULT_PALETTE", "LabelSet"]

Color = tuple[int, int, int]

CLOTHES_NAMES: tuple[str, ...] = (
    "Background",
    "Hat",
    "Hair",
    "Sunglasses",
    "Upper-clothes",
    "Skirt",
    "Pants",
    "Dress",
    "Belt",
    "Left-shoe",
    "Right-shoe",
    "Face",
    "Left-leg",
    "Right-leg",
    "Left-arm",
    "Right-arm",
    "Bag",
    "Scarf",
)
"""The 18 class names of the clothes models, index = class id."""

# 18 colours people can tell apart (Kelly's and Glasbey's high-contrast sets), RGB.
# Background is black so that an overlay leaves the photo's background untouched in hue.
DEFAULT_PALETTE: tuple[Color, ...] = (
    (0, 0, 0),  # Background
    (255, 179, 0),  # Hat: vivid yellow
    (128, 62, 117),  # Hair: strong purple
    (255, 104, 0),  # Sunglasses: vivid orange
    (166, 189, 215),  # Upper-clothes: very light blue
    (193, 0, 32),  # Skirt: vivid red
    (0, 125, 52),  # Pants: vivid green
    (246, 118, 142),  # Dress: strong purplish pink
    (0, 83, 138),  # Belt: strong blue
    (255, 122, 92),  # Left-shoe: strong yellowish pink
    (83, 55, 122),  # Right-shoe: strong violet
    (206, 162, 98),  # Face: greyish yellow
    (127, 24, 13),  # Left-leg: strong reddish brown
    (147, 170, 0),  # Right-leg: vivid yellowish green
    (89, 51, 21),  # Left-arm: deep yellowish brown
    (241, 58, 19),  # Right-arm: vivid reddish orange
    (35, 44, 22),  # Bag: dark olive green
    (0, 161, 194),  # Scarf: vivid cyan
)
"""One RGB colour per clothes class; other label sets wrap around it by index."""

_CLOTHES_GROUPS: dict[str, tuple[str, ...]] = {
    "shoes": ("Left-shoe", "Right-shoe"),
    "arms": ("Left-arm", "Right-arm"),
    "legs": ("Left-leg", "Right-leg"),
    "garments": (
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
    ),
    "body": ("Hair", "Face", "Left-leg", "Right-leg", "Left-arm", "Right-arm"),
}


def _freeze_groups(value: Mapping[str, Iterable[int]]) -> Mapping[str, tuple[int, ...]]:
    return MappingProxyType({key.lower(): tuple(int(i) for i in ids) for key, ids in value.items()})


def _class_id(value: object) -> int | None:
    """The int a class id stands for (ints and numpy integers), or None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def _to_names(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(name) for name in value)


def _to_palette(value: Iterable[Iterable[int]]) -> tuple[Color, ...]:
    colours = []
    for rgb in value:
        channels = tuple(int(c) for c in rgb)
        if len(channels) != 3:
            raise ValueError(f"a palette colour is (r, g, b), got {channels}")
        colours.append((channels[0], channels[1], channels[2]))
    return tuple(colours)


@attrs.frozen(repr=False)
class LabelSet:
    """The classes a model predicts: names by id, named groups of ids, and a colour per id.

    Look-ups accept an id (``int``), a name (case-insensitive) or, where a set of ids is
    wanted, a group name. Anything else raises `KeyError` listing what is valid.

    Args:
        names: class names, index = class id (at most 256 classes: label maps are uint8).
        groups: group name -> class ids, for example ``{"shoes": (9, 10)}``.
        palette: RGB colours; class ``i`` gets ``palette[i % len(palette)]``.

    Example:
        >>> labels = LabelSet(("background", "cat", "dog"), groups={"pets": (1, 2)})
        >>> labels.id("Dog"), labels.ids("pets"), len(labels)
        (2, (1, 2), 3)
    """

    names: tuple[str, ...] = attrs.field(converter=_to_names)
    groups: Mapping[str, tuple[int, ...]] = attrs.field(
        factory=dict, converter=_freeze_groups, eq=False, hash=False
    )
    palette: tuple[Color, ...] = attrs.field(default=DEFAULT_PALETTE, converter=_to_palette)
    _by_name: Mapping[str, int] = attrs.field(init=False, eq=False, hash=False)

    @names.validator
    def _check_names(
        self, _attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
    ) -> None:
        if not 1 <= len(value) <= 256:
            raise ValueError(f"a LabelSet needs 1 to 256 names, got {len(value)}")
        lowered = [name.lower() for name in value]
        duplicates = sorted({name for name in lowered if lowered.count(name) > 1})
        if duplicates:
            raise ValueError(f"label names must be unique ignoring case; repeated: {duplicates}")

    @groups.validator
    def _check_groups(
        self,
        _attribute: attrs.Attribute[Mapping[str, tuple[int, ...]]],
        value: Mapping[str, tuple[int, ...]],
    ) -> None:
        for group, ids in value.items():
            bad = [i for i in ids if not 0 <= i < len(self.names)]
            if bad:
                raise ValueError(
                    f"group {group!r} holds ids {bad} outside 0..{len(self.names) - 1}"
                )
            if group in {name.lower() for name in self.names}:
                raise ValueError(f"group {group!r} has the same name as a label")

    @palette.validator
    def _check_palette(
        self, _attribute: attrs.Attribute[tuple[Color, ...]], value: tuple[Color, ...]
    ) -> None:
        if not value or any(len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb) for rgb in value):
            raise ValueError("palette must be a non-empty sequence of (r, g, b) tuples in 0..255")

    @_by_name.default
    def _index_names(self) -> Mapping[str, int]:
        return MappingProxyType({name.lower(): i for i, name in enumerate(self.names)})

    @classmethod
    def from_id2label(cls, id2label: Mapping[int, str] | Mapping[str, str]) -> LabelSet:
        """Build a LabelSet from a model config's ``id2label`` (keys may be strings).

        The 18 clothes labels come back as `CLOTHES_LABELS`, groups included.

        Example:
            >>> LabelSet.from_id2label({"0": "background", "1": "person"}).names
            ('background', 'person')
        """
        by_id = {int(key): str(value) for key, value in id2label.items()}
        if sorted(by_id) != list(range(len(by_id))):
            raise ValueError(f"id2label ids must be 0..N-1 without gaps, got {sorted(by_id)}")
        names = tuple(by_id[i] for i in range(len(by_id)))
        if names == CLOTHES_NAMES:
            return CLOTHES_LABELS
        return cls(names)

    def __reduce__(self) -> tuple[type[LabelSet], tuple[object, ...]]:
        # Read-only mappings do not pickle; rebuild from the public fields instead.
        return (LabelSet, (self.names, dict(self.groups), self.palette))

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item.lower() in self._by_name
        class_id = _class_id(item)
        return class_id is not None and 0 <= class_id < len(self.names)

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:4]) + (", ..." if len(self.names) > 4 else "")
        return f"LabelSet({len(self.names)} labels: {shown})"

    def id(self, label: str | int) -> int:
        """Return the class id of a label name (case-insensitive) or check an id.

        Raises:
            KeyError: the name or id is not in this set; the message lists the valid names.

        Example:
            >>> CLOTHES_LABELS.id("PANTS"), CLOTHES_LABELS.id(6)
            (6, 6)
        """
        if isinstance(label, str):
            try:
                return self._by_name[label.lower()]
            except KeyError:
                raise KeyError(self._unknown(label)) from None
        class_id = _class_id(label)
        if class_id is None:
            raise TypeError(
                f"a label is a name (str) or a class id (int), got {type(label).__name__}"
            )
        if 0 <= class_id < len(self.names):
            return class_id
        raise KeyError(f"class id {class_id} is outside 0..{len(self.names) - 1}")

    def name(self, label: str | int) -> str:
        """Return the canonical name of a class id or name.

        Example:
            >>> CLOTHES_LABELS.name(9), CLOTHES_LABELS.name("left-SHOE")
            ('Left-shoe', 'Left-shoe')
        """
        return self.names[self.id(label)]

    def ids(self, label_or_group: str | int) -> tuple[int, ...]:
        """Return the class ids a label or group name stands for (one id for a label).

        Example:
            >>> CLOTHES_LABELS.ids("arms"), CLOTHES_LABELS.ids("Bag")
            ((14, 15), (16,))
        """
        if isinstance(label_or_group, str):
            group = self.groups.get(label_or_group.lower())
            if group is not None:
                return group
        return (self.id(label_or_group),)

    def color(self, label: str | int) -> Color:
        """Return the RGB colour of a class (the palette wraps around by index).

        Example:
            >>> CLOTHES_LABELS.color("Background")
            (0, 0, 0)
        """
        return self.palette[self.id(label) % len(self.palette)]

    def palette_array(self) -> list[int]:
        """The colours as a flat ``[r0, g0, b0, r1, ...]`` list of 256 entries.

        Ready for ``PIL.Image.Image.putpalette``.

        Example:
            >>> flat = CLOTHES_LABELS.palette_array()
            >>> len(flat), tuple(flat[12:15]) == CLOTHES_LABELS.color(4)
            (768, True)
        """
        flat: list[int] = []
        for i in range(256):
            flat.extend(self.palette[i % len(self.palette)])
        return flat

    def _unknown(self, label: str) -> str:
        valid = ", ".join(self.names)
        groups = f"; groups: {', '.join(self.groups)}" if self.groups else ""
        return f"unknown label {label!r}; valid labels: {valid}{groups}"


def _clothes_labels() -> LabelSet:
    index = {name: i for i, name in enumerate(CLOTHES_NAMES)}
    groups = {key: tuple(index[name] for name in names) for key, names in _CLOTHES_GROUPS.items()}
    return LabelSet(CLOTHES_NAMES, groups=groups, palette=DEFAULT_PALETTE)


CLOTHES_LABELS: LabelSet = _clothes_labels()
"""The 18 clothes classes, with groups ``shoes``, ``arms``, ``legs``, ``garments``, ``body``."""
