"""Without the ``local`` extra: the package imports, and LocalSegmenter says how to install it.

These tests run in every session, with or without torch: a missing torch is simulated by
blocking its import, and torch-free imports are checked in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from segformer_clothes.local import INSTALL_COMMAND, LocalSegmenter


@pytest.mark.parametrize("module", ["torch", "transformers"])
def test_using_it_without_the_extra_gives_the_install_command(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(ImportError) as caught:
        LocalSegmenter("any/model")
    message = str(caught.value)
    assert INSTALL_COMMAND in message
    assert INSTALL_COMMAND == 'pip install "segformer-clothes[local]"'
    assert module in message
    assert 'from a clone of the repository: pip install ".[local]"' in message


def test_importing_the_package_never_imports_torch() -> None:
    code = (
        "import sys, segformer_clothes\n"
        "from segformer_clothes.local import LocalSegmenter\n"
        "assert segformer_clothes.LocalSegmenter is LocalSegmenter\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'transformers' not in sys.modules, 'transformers was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_bad_batch_size_is_refused_before_anything_is_loaded() -> None:
    with pytest.raises(ValueError, match="batch_size must be a whole number, 1 or more, got 0"):
        LocalSegmenter("any/model", batch_size=0)
