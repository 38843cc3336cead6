"""`segformer-clothes segment`: segment a catalogue of photos, unattended and resumable."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from dotenv import load_dotenv
from tqdm import tqdm

from ..backends import Segmenter
from ..backends.local.segmenter import LocalSegmenter
from ..backends.remote.client import DEFAULT_MODEL
from ..backends.remote.settings import ClientSettings
from ..catalogue import Photo, RecordLog, check_inputs, find_photos, read_records
from ..errors import AuthenticationError, ModelNotFoundError, SegformerClothesError, SettingError
from ._options import Flag, default_of, usage_error
from ._outputs import Outputs

logger = logging.getLogger("segformer_clothes")

# Errors no retry or rerun can fix: the whole run stops on them.
FATAL_ERRORS = (AuthenticationError, ModelNotFoundError)

# The options that set the client's settings. Their defaults and their rules are
# ClientSettings': the command restates neither, and reports a bad value in these terms.
CLIENT_FLAGS = {
    "max_concurrency": Flag("--concurrency"),
    "requests_per_minute": Flag("--rpm", when_left_out="learn the limit from 429 answers"),
    "max_side": Flag("--max-side", when_left_out="send photos at their own size"),
    "max_retries": Flag("--max-retries"),
    "timeout": Flag("--timeout"),
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
            "skips the photos already done and retries the ones that failed. The token is read "
            "from HF_TOKEN or HF_API_TOKEN, also from a .env file in the working folder."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photo, folder or glob pattern")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    parser.add_argument("--overlay", action="store_true", help="also write overlays (JPEG)")
    parser.add_argument("--crops", action="store_true", help="also write garment cut-outs (PNG)")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"model id (default {DEFAULT_MODEL})"
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
        "--local", action="store_true", help="run the model in-process (needs the `local` extra)"
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
    parser.add_argument(
        "--no-resume", action="store_true", help="redo every photo, even those already done"
    )
    parser.add_argument(
        "--json", metavar="PATH", help="write a machine-readable summary there (- for stdout)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _left_out(setting: str) -> str | None:
    return CLIENT_FLAGS[setting].when_left_out


def _client_settings(args: argparse.Namespace) -> ClientSettings:
    """The client's settings from the options; raises SettingError for a bad one."""
    return ClientSettings(**{name: getattr(args, flag.dest) for name, flag in CLIENT_FLAGS.items()})


def _segmenter(args: argparse.Namespace, settings: ClientSettings) -> Segmenter:
    """The backend, created (and with --local, loaded) before any photo is read."""
    if args.local:
        local = {name: getattr(args, flag.dest) for name, flag in LOCAL_FLAGS.items()}
        return LocalSegmenter(model=args.model, **local)
    from ..backends.remote.auth import find_token
    from ..backends.remote.client import SegformerClothesClient

    token = None
    if args.send_token:
        token = find_token()
        if token is None:
            raise AuthenticationError("--send-token was given but no token was found")
    return SegformerClothesClient(
        model=args.model, endpoint_url=args.endpoint_url, token=token, **attrs.asdict(settings)
    )


def _usage_error(message: str) -> int:
    print(f"segformer-clothes segment: error: {message}", file=sys.stderr)
    return 2


def _count(inputs: list[str]) -> int:
    return sum(1 for _ in find_photos(inputs))


def run(args: argparse.Namespace) -> int:
    """Run ``segment``; returns the exit code (0 all done, 1 some failed, 2 usage error)."""
    load_dotenv(Path.cwd() / ".env", override=False)
    # Every check comes before the output folder is made and before any photo is read.
    try:
        settings = _client_settings(args)
    except SettingError as error:
        return _usage_error(usage_error(error, FLAGS))
    try:
        check_inputs(args.inputs)
    except FileNotFoundError as error:
        return _usage_error(str(error))
    try:
        segmenter = _segmenter(args, settings)
    except SettingError as error:
        return _usage_error(usage_error(error, FLAGS))
    except (ImportError, ValueError) as error:
        # --local without the `local` extra (the message gives the install command), or a
        # model that is not a SegFormer.
        return _usage_error(str(error))
    except SegformerClothesError as error:
        return _usage_error(_explain(error))
    except KeyboardInterrupt:
        print("\nInterrupted before any photo was segmented.", file=sys.stderr)
        return 130
    with segmenter:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return _usage_error(f"cannot create the --out folder {args.out}: {error}")
        return _segment_all(args, segmenter)


def _segment_all(args: argparse.Namespace, segmenter: Segmenter) -> int:
    """Segment every photo not done yet into the (existing) output folder; the exit code."""
    outputs = Outputs(args.out, args.overlay, args.crops)
    results_path = args.out / "results.jsonl"
    records = {} if args.no_resume else read_records(results_path)
    show_progress = not args.quiet and sys.stderr.isatty()
    counts = {"done": 0, "skipped": 0, "failed": 0}
    in_flight: deque[tuple[Photo, float]] = deque()

    def to_do() -> Iterator[str]:
        for photo in find_photos(args.inputs):
            if outputs.complete(records.get(str(photo.path))):
                counts["skipped"] += 1
                progress.update(1)
                continue
            in_flight.append((photo, time.perf_counter()))
            yield str(photo.path)

    started = time.perf_counter()
    log = RecordLog(results_path)
    progress = tqdm(
        total=_count(args.inputs) if show_progress else None,
        disable=not show_progress,
        unit="photo",
        dynamic_ncols=True,
    )
    try:
        for outcome in segmenter.segment_many(to_do(), return_exceptions=True):
            photo, began = in_flight.popleft()
            record: dict[str, Any] = {"input": str(photo.path), "name": photo.name}
            if isinstance(outcome, FATAL_ERRORS):
                raise outcome
            if isinstance(outcome, BaseException):
                record.update(
                    status="failed", error=str(outcome), error_type=type(outcome).__name__
                )
                counts["failed"] += 1
            else:
                try:
                    crops = outputs.write(photo, outcome)
                except (OSError, ValueError, SegformerClothesError) as error:
                    record.update(
                        status="failed", error=str(error), error_type=type(error).__name__
                    )
                    counts["failed"] += 1
                else:
                    width, height = outcome.size
                    record.update(
                        status="ok",
                        width=width,
                        height=height,
                        labels=list(outcome.labels_present),
                        coverage={k: round(v, 6) for k, v in outcome.coverage().items()},
                        **({"crops": crops} if args.crops else {}),
                    )
                    counts["done"] += 1
            record["seconds"] = round(time.perf_counter() - began, 3)
            log.write(record)
            progress.update(1)
    except KeyboardInterrupt:
        progress.close()
        print(
            f"\nInterrupted after {counts['done']} photos; every finished photo is saved. "
            "Run the same command again to resume.",
            file=sys.stderr,
        )
        return 130
    except SegformerClothesError as error:
        # No retry or rerun can fix these: a missing or refused token, a model not deployed.
        progress.close()
        return _usage_error(_explain(error))
    finally:
        log.close()
    progress.close()
    seconds = time.perf_counter() - started
    summary = {
        **counts,
        "seconds": round(seconds, 3),
        "images_per_second": round(counts["done"] / seconds, 3) if seconds > 0 else 0.0,
        "out": os.fspath(args.out),
        "results": os.fspath(results_path),
    }
    _report(summary, args.json)
    return 1 if counts["failed"] else 0


def _explain(error: SegformerClothesError) -> str:
    if isinstance(error, AuthenticationError) and getattr(error, "status_code", None) is None:
        return (
            "no Hugging Face token found. Set HF_TOKEN (or HF_API_TOKEN) in the environment or "
            "in a .env file in this folder (HF_TOKEN=hf_...); or point --endpoint-url at your "
            "own server, or run the model here with --local."
        )
    return str(error)


def _report(summary: dict[str, Any], json_path: str | None) -> None:
    text = (
        f"done {summary['done']}, skipped {summary['skipped']}, failed {summary['failed']} "
        f"in {summary['seconds']:.1f} s ({summary['images_per_second']:.2f} images/s)"
    )
    if summary["failed"]:
        text += f"; failures are listed in {summary['results']}, rerun to retry them"
    print(text, file=sys.stderr if json_path == "-" else sys.stdout)
    if json_path == "-":
        print(json.dumps(summary))
    elif json_path:
        Path(json_path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
