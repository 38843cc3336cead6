"""The package's public names: sorted, complete, importable, and light to import."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import segformer_clothes

# Public modules whose public names the package re-exports, and the names deliberately left
# in their module (reachable there, documented there).
REEXPORTED_FROM = ("errors", "labels", "result", "client", "backends")
LEFT_IN_THEIR_MODULE = {
    "labels": {"CLOTHES_NAMES", "DEFAULT_PALETTE"},  # reachable through CLOTHES_LABELS
    "client": {"DEFAULT_MODEL"},  # the client's default; SegformerClothesClient documents it
    # For those who write a backend; everyday code needs only the protocol.
    "backends": {"BaseSegmenter", "ChunkWorker", "Outcome", "source_of"},
}


def isort_style(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then everything else."""
    if name.isupper():
        return 0, name
    if name[0].isupper():
        return 1, name
    return 2, name


def test_all_is_sorted():
    assert segformer_clothes.__all__ == sorted(segformer_clothes.__all__, key=isort_style)


def test_all_has_no_duplicates():
    assert len(set(segformer_clothes.__all__)) == len(segformer_clothes.__all__)


@pytest.mark.parametrize("module_name", REEXPORTED_FROM)
def test_all_is_complete(module_name):
    module = importlib.import_module(f"segformer_clothes.{module_name}")
    wanted = set(module.__all__) - LEFT_IN_THEIR_MODULE.get(module_name, set())
    assert wanted <= set(segformer_clothes.__all__)
    for name in wanted:
        assert getattr(segformer_clothes, name) is getattr(module, name)


def test_every_name_in_all_is_importable():
    for name in segformer_clothes.__all__:
        if name == "LocalSegmenter":
            continue  # needs the `local` extra; checked below without importing torch
        assert getattr(segformer_clothes, name) is not None


def test_local_segmenter_is_listed_and_lazy():
    assert "LocalSegmenter" in segformer_clothes.__all__
    assert "LocalSegmenter" not in vars(segformer_clothes)


def test_unknown_attribute_says_so():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = segformer_clothes.Nope  # type: ignore[attr-defined]


def test_importing_the_package_does_not_import_torch():
    code = (
        "import sys, segformer_clothes, segformer_clothes.client, segformer_clothes.testing; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"
