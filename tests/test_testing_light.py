"""`segformer_clothes.testing` imports without torch, though it can build torch models."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_importing_testing_and_its_model_builder_does_not_import_torch() -> None:
    code = (
        "import sys; from segformer_clothes.testing import save_random_segformer, "
        "FakeInferenceServer; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"
