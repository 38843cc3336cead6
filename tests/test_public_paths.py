"""Every public name keeps its import path while the package is reorganised.

The table is the public surface as released: each public (non-``_``) module and the names of
its ``__all__``. Names may be added (the test only asks that these stay), never removed or
moved without a re-export at the old path.
"""

from __future__ import annotations

import importlib

import pytest

RELEASED: dict[str, list[str]] = {
    "segformer_clothes": [
        "APIError",
        "AuthenticationError",
        "BadRequestError",
        "CLOTHES_LABELS",
        "ClientStats",
        "InvalidImageError",
        "LabelSet",
        "LocalSegmenter",
        "ModelLoadingError",
        "ModelNotFoundError",
        "NetworkError",
        "PayloadTooLargeError",
        "RateLimitError",
        "RequestTimeoutError",
        "ResponseFormatError",
        "SegformerClothesClient",
        "SegformerClothesError",
        "SegmentationResult",
        "ServerError",
        "UnsupportedMediaTypeError",
        "__version__",
    ],
    "segformer_clothes.catalogue": ["EncodedOutputs", "encode_outputs"],
    "segformer_clothes.analysis": [
        "COLOUR_NAMES",
        "INSTALL_COMMAND",
        "TABLE_COLUMNS",
        "Colour",
        "Distribution",
        "Garment",
        "TableWriter",
        "TrendReport",
        "find_garments",
        "name_colour",
        "photo_flags",
        "read_table",
        "table_rows",
        "trend_report",
        "write_parquet",
    ],
    "segformer_clothes.analysis.colours": [
        "COLOUR_NAMES",
        "colour_difference",
        "hex_to_rgb",
        "lab_to_rgb",
        "name_colour",
        "nearest_colour_names",
        "rgb_to_hex",
        "rgb_to_lab",
    ],
    "segformer_clothes.analysis.garments": [
        "MAX_SAMPLES",
        "NO_PERSON",
        "SAME_COLOUR",
        "SMALL_GARMENT",
        "SMALL_GARMENT_PERSON_SHARE",
        "SMALL_GARMENT_PIXELS",
        "SMALL_PERSON",
        "SMALL_PERSON_SHARE",
        "Colour",
        "Garment",
        "find_garments",
        "photo_flags",
    ],
    "segformer_clothes.analysis.report": [
        "FORMATS",
        "Distribution",
        "TableInput",
        "TrendReport",
        "trend_report",
    ],
    "segformer_clothes.analysis.table": [
        "COLUMN_TYPES",
        "CSV_NAME",
        "PARQUET_NAME",
        "TABLE_COLUMNS",
        "Row",
        "TableWriter",
        "garment_rows",
        "read_table",
        "table_rows",
        "write_parquet",
    ],
    "segformer_clothes.cli": ["main"],
    "segformer_clothes.distributed": [
        "ClientBackend",
        "FinishedPhoto",
        "LocalBackend",
        "SegmentPhotos",
        "ray_session",
        "read_path_list",
        "segment_catalogue",
    ],
    "segformer_clothes.client": ["ClientStats", "DEFAULT_MODEL", "SegformerClothesClient"],
    "segformer_clothes.errors": [
        "APIError",
        "AuthenticationError",
        "BadRequestError",
        "InvalidImageError",
        "ModelLoadingError",
        "ModelNotFoundError",
        "NetworkError",
        "PayloadTooLargeError",
        "RateLimitError",
        "RequestTimeoutError",
        "ResponseFormatError",
        "SegformerClothesError",
        "ServerError",
        "UnsupportedMediaTypeError",
    ],
    "segformer_clothes.formats.label_map_png": ["encode_label_map_png"],
    "segformer_clothes.evaluation": [
        "ClassScores",
        "ConfusionMatrix",
        "EvaluationReport",
        "FilePair",
        "ImageScores",
        "Pairing",
        "SkippedFile",
        "evaluate",
        "load_label_map",
        "merge_sides",
        "pair_folders",
        "plot_class_iou",
        "plot_comparison",
        "plot_confusion",
    ],
    "segformer_clothes.formats.coco": [
        "coco_categories",
        "decode_annotations",
        "decode_rle",
        "encode_annotations",
        "encode_rle",
        "encode_rles",
        "write_coco",
    ],
    "segformer_clothes.images": [
        "ImageInput",
        "Upload",
        "describe",
        "image_size",
        "load_image",
        "prepare_upload",
    ],
    "segformer_clothes.labels": ["CLOTHES_LABELS", "CLOTHES_NAMES", "DEFAULT_PALETTE", "LabelSet"],
    "segformer_clothes.local": ["LocalSegmenter"],
    "segformer_clothes.result": ["SegmentationResult"],
    "segformer_clothes.serve": [
        "ACCEPTED_TYPES",
        "INSTALL_COMMAND",
        "SegmentationServer",
        "ServeMetrics",
        "ServeSettings",
    ],
    "segformer_clothes.testing": ["FAULTS", "FakeInferenceServer", "encode_answer", "pixel_labels"],
}

# Names that need the `local` extra to be resolved (the attribute access imports torch).
NEEDS_TORCH = {
    ("segformer_clothes", "LocalSegmenter"),
    ("segformer_clothes.local", "LocalSegmenter"),
}

# Names that need the `serve` extra to be resolved (the attribute access imports starlette).
NEEDS_SERVE = {("segformer_clothes.serve", "SegmentationServer")}


@pytest.mark.parametrize("module_name", sorted(RELEASED))
def test_released_names_keep_their_import_path(module_name):
    module = importlib.import_module(module_name)
    missing_from_all = set(RELEASED[module_name]) - set(module.__all__)
    assert not missing_from_all, f"{module_name}.__all__ lost {sorted(missing_from_all)}"
    for name in RELEASED[module_name]:
        if (module_name, name) in NEEDS_TORCH | NEEDS_SERVE:
            continue
        assert getattr(module, name) is not None


@pytest.mark.local
@pytest.mark.parametrize(("module_name", "name"), sorted(NEEDS_TORCH))
def test_local_names_resolve_where_torch_is_installed(module_name, name):
    module = importlib.import_module(module_name)
    assert getattr(module, name).__name__ == "LocalSegmenter"


@pytest.mark.serve
@pytest.mark.parametrize(("module_name", "name"), sorted(NEEDS_SERVE))
def test_serve_names_resolve_where_the_serve_extra_is_installed(module_name, name):
    module = importlib.import_module(module_name)
    assert getattr(module, name).__name__ == name
