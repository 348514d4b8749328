"""``graphmode checkpoint inspect PATH``: list a TF1 or TF2 checkpoint's variables, slots grouped under them."""

from __future__ import annotations

import argparse
import json
import sys


def _inspect(args: argparse.Namespace) -> int:
    from graphmode.checkpoint.reader import inspect_checkpoint
    from graphmode.errors import CheckpointCorruptError, CheckpointNotFoundError

    try:
        summary = inspect_checkpoint(args.path, verify=not args.no_verify)
    except (CheckpointNotFoundError, CheckpointCorruptError) as error:
        print(f"graphmode checkpoint inspect: {error.message}", file=sys.stderr)
        return 1
    print(json.dumps(summary.to_json()) if args.json else summary.format_table())
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("checkpoint", help="inspect TF1 (Saver) and TF2 (object-based) checkpoints")
    actions = parser.add_subparsers(dest="checkpoint_command", metavar="ACTION", required=True)
    inspect = actions.add_parser(
        "inspect",
        help="list every variable with shape and dtype, optimizer slots under their variable",
        description="List every variable of a checkpoint with shape and dtype; optimizer slots (Adam m/v, Momentum "
        "accumulators) are grouped under their variable and optimizer state (global step, beta powers) listed "
        "apart. Exit status 1 when the checkpoint is missing, truncated or corrupt.",
    )
    inspect.add_argument("path", help="checkpoint prefix (DIR/model.ckpt-100), its directory, or one of its files")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument("--no-verify", action="store_true",
                         help="read only the index (skip reading every tensor to detect truncated data files)")
    inspect.set_defaults(handler=_inspect)
