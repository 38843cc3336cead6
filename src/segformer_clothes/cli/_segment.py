"""`segformer-clothes segment`: segment a catalogue of photos, unattended and resumable."""

from __future__ import annotations

import argparse
import inspect
import itertools
import logging
import os
import sys
from pathlib import Path
from typing import Any

import attrs
from dotenv import load_dotenv

from ..backends import Segmenter
from ..backends.local.segmenter import LocalSegmenter
from ..backends.remote.client import DEFAULT_MODEL
from ..backends.remote.settings import ClientSettings
from ..catalogue import check_inputs, check_unique_names, find_photos
from ..distributed import ClientBackend, LocalBackend
from ..errors import AuthenticationError, DuplicateNameError, ModelNotFoundError, SettingError
from ..result import SegmentationResult
from ._errors import fail
from ._options import Flag, default_of, usage_error
from ._outputs import Outputs
from ._ray import add_ray_options, listed_photos, ray_engine
from ._run import EXIT_CODES, CatalogueRun, UsageProblem
from ._table import add_table_option, table_problem

logger = logging.getLogger("segformer_clothes")

# The options that set the client's settings. Their defaults and their rules are
# ClientSettings': the command restates neither, and reports a bad value in these terms.
CLIENT_FLAGS = {
    "max_concurrency": Flag("--concurrency"),
    "requests_per_minute": Flag("--rpm", when_left_out="learn the limit from 429 answers"),
    "max_side": Flag("--max-side", when_left_out="send photos at their own size"),
    "max_retries": Flag("--max-retries"),
    "timeout": Flag("--timeout"),
    "max_server_wait": Flag("--max-server-wait"),
    "deadline": Flag("--deadline"),
    "max_connection_failures": Flag(
        "--max-connection-failures", when_left_out="stop after 20 in a row"
    ),
    "max_answer_bytes": Flag("--max-answer-bytes"),
}
# The options of --local: LocalSegmenter's defaults, checked by LocalSegmenter.
LOCAL_FLAGS = {
    "device": Flag("--device"),
    "batch_size": Flag("--batch-size"),
    "dtype": Flag("--dtype"),
}
FLAGS = {**CLIENT_FLAGS, **LOCAL_FLAGS, "endpoint_url": Flag("--endpoint-url")}


def add_parser(subparsers: Any) -> None:
    """Add the ``segment`` subcommand."""
    parser = subparsers.add_parser(
        "segment",
        help="segment photos (files, folders, glob patterns) into label maps, overlays, crops",
        description=(
            "Segment every photo named by INPUT (files, folders searched recursively, or glob "
            "patterns) and write DIR/labels/<name>.png, optionally DIR/overlays/<name>.jpg and "
            "DIR/crops/<name>/<label>.png, with one line per photo in DIR/results.jsonl. A rerun "
            "skips the photos already done and retries the ones that failed (not the invalid "
            "ones, unless --retry-invalid). The token is read from HF_TOKEN or HF_API_TOKEN, "
            "also from a .env file in the working folder. Exit codes: "
            + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items())
            + "."
        ),
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="photo, folder or glob pattern")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--overlay", action="store_true", help="also write overlays (JPEG)")
    parser.add_argument("--crops", action="store_true", help="also write garment cut-outs (PNG)")
    overlay = inspect.signature(SegmentationResult.overlay).parameters
    parser.add_argument(
        "--alpha",
        type=float,
        default=overlay["alpha"].default,
        help="with --overlay: opacity of the colours, 0 to 1 (default %(default)s)",
    )
    parser.add_argument(
        "--legend", action="store_true", help="with --overlay: name each colour beside the photo"
    )
    parser.add_argument(
        "--outline",
        action="store_true",
        help="with --overlay: also draw each garment's edge, so one close to its colour shows",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"a model id on the Hub, or with --local a folder written by save_pretrained "
        f"(default {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--endpoint-url", help="POST to this URL (a dedicated endpoint or your own server)"
    )
    parser.add_argument(
        "--send-token",
        action="store_true",
        help=(
            "also send the token from HF_TOKEN / HF_API_TOKEN / .env to --endpoint-url (a "
            "protected dedicated endpoint); by default it goes only to Hugging Face's API"
        ),
    )
    # Only the conversion to a number happens here: ClientSettings and LocalSegmenter check
    # the values (in run(), before any work), so that the rules are theirs alone.
    client = attrs.fields(ClientSettings)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=client.max_concurrency.default,
        help="requests in flight (default %(default)s)",
    )
    parser.add_argument(
        "--rpm",
        type=float,
        default=client.requests_per_minute.default,
        help=f"requests per minute allowed (left out: {_left_out('requests_per_minute')})",
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=client.max_side.default,
        help="downscale photos whose longer side exceeds this many pixels; outputs stay at "
        f"full size (left out: {_left_out('max_side')})",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=client.max_retries.default,
        help="retries of a transient failure per photo (default %(default)s; 0 turns them off)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=client.timeout.default,
        help="seconds to wait for one answer (default %(default)s)",
    )
    parser.add_argument(
        "--max-server-wait",
        type=float,
        default=client.max_server_wait.default,
        help="the longest wait a server may ask for (Retry-After, model loading), in seconds "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=client.deadline.default,
        help="the most seconds one photo may take, every retry and wait included "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--max-connection-failures",
        type=int,
        default=client.max_connection_failures.default,
        help="connection failures in a row (DNS, refused, TLS) after which the run stops: the "
        "endpoint is unreachable (default %(default)s)",
    )
    parser.add_argument(
        "--max-answer-bytes",
        type=int,
        default=client.max_answer_bytes.default,
        help="the largest answer read, in bytes after decompression (default %(default)s)",
    )
    parser.add_argument(
        "--local", action="store_true", help="run the model in-process (needs the `local` extra)"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        default=os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"),
        help="with --local: never try the network; the weights come from --model DIR or the "
        "Hugging Face cache (also when HF_HUB_OFFLINE=1)",
    )
    parser.add_argument(
        "--device",
        default=default_of(LocalSegmenter, "device"),
        help="with --local: auto, cpu, cuda, cuda:1 (default %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=default_of(LocalSegmenter, "batch_size"),
        help="with --local: photos per batch (default %(default)s)",
    )
    parser.add_argument(
        "--dtype",
        default=default_of(LocalSegmenter, "dtype"),
        help="with --local: the precision the model runs in, float32, float16 or bfloat16 "
        "(default %(default)s); half precision is faster on a GPU",
    )
    add_ray_options(parser)
    parser.add_argument(
        "--no-resume", action="store_true", help="redo every photo, even those already done"
    )
    parser.add_argument(
        "--retry-invalid",
        action="store_true",
        help="also retry the photos recorded as invalid (that can never succeed as they are)",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="write a machine-readable summary there (- for stdout)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_table_option(parser)
    parser.set_defaults(handler=run)


def _left_out(setting: str) -> str | None:
    return CLIENT_FLAGS[setting].when_left_out


def _client_settings(args: argparse.Namespace) -> ClientSettings:
    """The client's settings from the options; raises SettingError for a bad one."""
    return ClientSettings(**{name: getattr(args, flag.dest) for name, flag in CLIENT_FLAGS.items()})


def _quiet_model_loading(*, offline: bool) -> None:
    """No third-party loading bars or retry lines on the command's terminal, and with
    --offline no attempt at the network: what goes wrong is said once, by the command."""
    for name, value in (
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
    ):
        os.environ.setdefault(name, value)
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"
    for name in ("huggingface_hub", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _recipe(args: argparse.Namespace, settings: ClientSettings) -> LocalBackend | ClientBackend:
    """How to build the backend, here or on each actor of a cluster."""
    if args.local:
        local = {name: getattr(args, flag.dest) for name, flag in LOCAL_FLAGS.items()}
        _quiet_model_loading(offline=args.offline)
        return LocalBackend(model=args.model, local_files_only=args.offline, **local)
    from ..backends.remote.auth import find_token

    token = None
    if args.send_token:
        token = find_token()
        if token is None:
            raise AuthenticationError("--send-token was given but no token was found")
    options = {"model": args.model, "endpoint_url": args.endpoint_url, "token": token}
    return ClientBackend({**options, **attrs.asdict(settings)})


def _segmenter(args: argparse.Namespace, settings: ClientSettings) -> Segmenter:
    """The backend, created (and with --local, loaded) before any photo is read."""
    return _recipe(args, settings)()


def _weights_missing(error: ModelNotFoundError, args: argparse.Namespace) -> str:
    """The fix for weights that are not here, in the command's terms."""
    folder = getattr(error, "folder", None)
    if folder is None:  # a folder that is not a model: the library's words are the command's
        return error.message
    offline = "" if args.offline else " (--offline never tries the network)"
    return (
        f"the weights of {args.model} are not on this machine and could not be downloaded "
        f"({error.reason}). On a machine that reaches huggingface.co, run "  # type: ignore[attr-defined]
        f"`hf download {args.model} --local-dir {folder}`, copy the folder here and run again "
        f"with --model {folder}{offline}; or point HF_HOME at a Hugging Face cache that holds "
        "the model"
    )


def _as_usage_problem(error: BaseException, args: argparse.Namespace) -> UsageProblem | None:
    """An error building the backend as the command's usage error; None for another one."""
    if isinstance(error, SettingError):
        return UsageProblem(usage_error(error, FLAGS))
    if isinstance(error, ModelNotFoundError):
        return UsageProblem(_weights_missing(error, args))
    if isinstance(error, (ImportError, ValueError)):
        # --local without the `local` extra (the message gives the install command), or a
        # model that is not a SegFormer.
        return UsageProblem(str(error))
    return None


def _make_segmenter(args: argparse.Namespace, settings: ClientSettings) -> Segmenter:
    """The backend, created only when some photo is left to do; bad options as UsageProblem."""
    try:
        return _segmenter(args, settings)
    except (SettingError, ModelNotFoundError, ImportError, ValueError) as error:
        raise _as_usage_problem(error, args) from None  # type: ignore[misc]


def run(args: argparse.Namespace) -> int:
    """Run ``segment``; returns the exit code (the table is `EXIT_CODES`)."""
    load_dotenv(Path.cwd() / ".env", override=False)
    # The order of a run: check the options and the inputs (names included), then take the
    # output folder's lock, plan, create the backend only if there is work, and run.
    try:
        settings = _client_settings(args)
    except SettingError as error:
        return fail("segment", usage_error(error, FLAGS))
    if args.ray_address:
        args.ray = True
    if args.ray and args.ray_actors < 1:
        return fail("segment", f"--ray-actors must be 1 or more, got {args.ray_actors}")
    try:
        check_inputs(args.inputs)
        listed = listed_photos(args)
        if not args.inputs and not listed:
            return fail(
                "segment", "no photos: give an INPUT or a --paths-from list that names some"
            )
        total = check_unique_names(itertools.chain(find_photos(args.inputs), listed))
    except (FileNotFoundError, ValueError) as error:
        return fail("segment", str(error))
    except DuplicateNameError as error:
        return fail("segment", error.message)
    if not 0.0 <= args.alpha <= 1.0:  # as SegmentationResult.overlay checks it
        return fail("segment", f"--alpha must be between 0 and 1, got {args.alpha}")
    problem = table_problem(args.table, args.out)
    if problem is not None:
        return fail("segment", problem)
    style = {"alpha": args.alpha, "legend": args.legend, "outline": args.outline}
    outputs = Outputs(args.out, args.overlay, args.crops, style)
    engine = None
    if args.ray:
        engine = ray_engine(
            args, outputs, lambda: _recipe(args, settings), lambda e: _as_usage_problem(e, args)
        )
    try:
        return CatalogueRun(
            args,
            outputs,
            lambda: _make_segmenter(args, settings),
            total,
            engine=engine,
            photos=lambda: itertools.chain(find_photos(args.inputs), listed),
        ).run()
    except KeyboardInterrupt:
        print("\nInterrupted before any photo was segmented.", file=sys.stderr)
        return 130
