"""The ``segformer-clothes serve`` subcommand: the model served over HTTP until stopped."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from ..backends.remote.client import DEFAULT_MODEL
from ..errors import ModelNotFoundError, SettingError
from ..serve import INSTALL_COMMAND, ServeSettings
from ._errors import fail
from ._options import Flag, default_of, usage_error

__all__ = ["add_parser", "run"]

_FAILED = 1
_LOCAL_INSTALL = 'pip install "segformer-clothes[local,serve]"'

# The options that set a field of ServeSettings.
FLAGS = {
    "max_batch_size": Flag("--max-batch-size"),
    "max_wait_ms": Flag("--max-wait-ms"),
    "max_queue": Flag("--max-queue"),
    "pixel_threads": Flag("--pixel-threads"),
    "shutdown_timeout": Flag("--shutdown-timeout"),
    "batch_size": Flag("--max-batch-size"),
    "device": Flag("--device"),
    "dtype": Flag("--dtype"),
}

DESCRIPTION = """\
Serve a SegFormer clothes model over HTTP, in the wire format of the Hugging Face
image-segmentation API, until stopped (Ctrl-C or SIGTERM: requests in flight are answered
first). POST the raw bytes of a photo with its Content-Type to / or /models/<id>; GET /health
and /metrics. Concurrent requests are run through the model together, in batches of up to
--max-batch-size photos gathered within --max-wait-ms. The URL is printed on the first line.

It listens on 127.0.0.1 (this machine only) unless --host says otherwise. Needs the `local`
and `serve` extras; --fake runs the stand-in server instead (no model, no extra needed).
"""


def _settings_default(name: str) -> Any:
    return default_of(ServeSettings, name)


# --max-batch-size left out: on a CPU, small batches, where the network runs fastest per photo
# (larger ones outgrow the caches: batches of 2 beat 1, 4 and 8 on the 2-core machine of
# benchmarks/bench_serve.py); on a GPU, the ServeSettings default.
CPU_BATCH_SIZE = 2


def _default_batch_size(device: str) -> int:
    """The batch for --device when --max-batch-size is left out (torch is asked about "auto")."""
    on_gpu: bool = device != "cpu"
    if device == "auto":
        try:
            torch: Any = importlib.import_module("torch")
        except ImportError:  # the missing extra is reported next
            on_gpu = False
        else:
            on_gpu = bool(torch.cuda.is_available())
    return int(_settings_default("max_batch_size")) if on_gpu else CPU_BATCH_SIZE


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the command's subparsers (``run`` is set as its handler)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="serve the model over HTTP, with dynamic batching",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="ID_OR_DIR",
        help="a Hugging Face model id or a folder saved by save_pretrained "
        f"(default {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for every "
        "interface: then require a token with --token-env)",
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="the port (default 8080; 0 takes a free one)"
    )
    parser.add_argument(
        "--device", default="auto", help="auto (a CUDA GPU when there is one), cpu, cuda, cuda:N"
    )
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=("float32", "float16", "bfloat16"),
        help="the precision the model runs in (default float32)",
    )
    parser.add_argument(
        "--max-batch-size",
        type=int,
        help="the most photos run through the model at once (default "
        f"{_settings_default('max_batch_size')} on a GPU, {CPU_BATCH_SIZE} on a CPU)",
    )
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=_settings_default("max_wait_ms"),
        help="how long a batch waits to fill, in milliseconds (default %(default)s)",
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=_settings_default("max_queue"),
        help="the most requests admitted at once; beyond, 429 with Retry-After "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=_settings_default("max_body_bytes") / 2**20,
        help="the largest request body, in MiB; beyond, 413 (default %(default)g)",
    )
    parser.add_argument(
        "--token-env",
        metavar="NAME",
        help="require 'Authorization: Bearer <token>', the token read from this environment "
        "variable (or from a .env file here)",
    )
    parser.add_argument(
        "--pixel-threads",
        type=int,
        default=_settings_default("pixel_threads"),
        help="threads decoding photos and encoding answers (default %(default)s)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=_settings_default("shutdown_timeout"),
        help="on Ctrl-C or SIGTERM, the most seconds to wait for requests in flight "
        "(default %(default)g)",
    )
    parser.add_argument(
        "--offline", action="store_true", help="load the model from disk only, never the network"
    )
    parser.add_argument("--access-log", action="store_true", help="log a line per request")
    parser.add_argument(
        "--fake",
        action="store_true",
        help="serve the stand-in of the API (answers drawn from each photo's shape, no model) "
        "on 127.0.0.1, to test pipelines; needs no extra",
    )
    parser.set_defaults(handler=run)
    return parser


def _token(args: argparse.Namespace) -> str | None:
    """The token named by --token-env; ValueError (never showing a value) when it is unset."""
    if args.token_env is None:
        return None
    token = os.environ.get(args.token_env, "").strip()
    if not token:
        raise ValueError(
            f"--token-env {args.token_env}: the environment variable {args.token_env} is not "
            "set or is empty; set it to the token clients must send"
        )
    return token


def _wait_for_a_signal() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stop.wait(0.2):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_fake(args: argparse.Namespace, token: str | None) -> int:
    from ..testing import FakeInferenceServer

    if args.host not in ("127.0.0.1", "localhost"):
        return fail("serve", "--fake listens on 127.0.0.1 only; leave --host out")
    try:
        server = FakeInferenceServer(port=args.port, token=token).start()
    except OSError as error:
        return fail("serve", f"cannot listen on port {args.port}: {error}")
    print(server.url, flush=True)
    try:
        _wait_for_a_signal()
    finally:
        server.stop()
    return 0


def _loader(args: argparse.Namespace) -> Callable[[], Any]:
    def load() -> Any:
        from ..backends.local.segmenter import LocalSegmenter

        for name in ("huggingface_hub", "transformers"):
            logging.getLogger(name).setLevel(logging.ERROR)
        if args.offline:
            os.environ["HF_HUB_OFFLINE"] = "1"
        return LocalSegmenter(
            args.model,
            device=args.device,
            dtype=args.dtype,
            batch_size=args.max_batch_size,
            local_files_only=args.offline,
        )

    return load


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ValueError:  # in sys.modules as None: its import was blocked
        return False


def _missing_extras() -> str | None:
    missing = [
        name for name in ("starlette", "uvicorn", "torch", "transformers") if not _installed(name)
    ]
    if not missing:
        return None
    command = INSTALL_COMMAND if {"torch", "transformers"}.isdisjoint(missing) else _LOCAL_INSTALL
    return (
        f"serving the model needs {', '.join(missing)}, which is not installed; install it with "
        f"{command} (or run `segformer-clothes serve --fake` for the stand-in, which needs none)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``serve``; returns the exit code: 0 once stopped, 2 for a bad option or a missing
    extra, 1 when the model cannot be loaded."""
    load_dotenv(Path.cwd() / ".env", override=False)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        token = _token(args)
    except ValueError as error:
        return fail("serve", str(error))
    if not 0 <= args.port <= 65535:
        return fail("serve", f"--port must be between 0 and 65535, got {args.port}")
    if args.fake:
        return _run_fake(args, token)
    if not args.max_body_mb > 0:
        return fail("serve", f"--max-body-mb must be a number above 0, got {args.max_body_mb}")
    if args.max_batch_size is None:
        args.max_batch_size = _default_batch_size(args.device)
    try:
        settings = ServeSettings(
            max_body_bytes=max(1, round(args.max_body_mb * 2**20)),
            token=token,
            **{name: getattr(args, FLAGS[name].dest) for name in _SETTING_NAMES},
        )
    except SettingError as error:
        return fail("serve", usage_error(error, FLAGS))
    missing = _missing_extras()
    if missing is not None:
        return fail("serve", missing)
    from ..serve import SegmentationServer

    server = SegmentationServer(
        load=_loader(args),
        settings=settings,
        host=args.host,
        port=args.port,
        model_name=args.model,
        access_log=args.access_log,
    )
    try:
        server.run(on_listening=lambda url: print(url, flush=True))
    except OSError as error:
        return fail("serve", f"cannot listen on {args.host}:{args.port}: {error}")
    except SettingError as error:
        return fail("serve", usage_error(error, FLAGS))
    except (ModelNotFoundError, ImportError, ValueError) as error:
        return fail("serve", str(error), _FAILED)
    return 0


_SETTING_NAMES = ("max_batch_size", "max_wait_ms", "max_queue", "pixel_threads", "shutdown_timeout")
