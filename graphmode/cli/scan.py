"""``graphmode scan SCRIPT...``: a migration checklist of the TF1 symbols scripts use."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from graphmode.scan.scanner import scan_files

    report = scan_files(args.scripts)
    print(report.to_json() if args.json else report.format_text())
    return report.exit_code


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="list the TF1 symbols scripts use that TensorFlow 2 lacks (without running them)",
        description=(
            "Read scripts without running them and list each use of a TF1 symbol TensorFlow 2 lacks: "
            "file:line, what graphmode run maps it to, or that it was removed (with the replacement "
            "where one exists); then a verdict per script: whether graphmode run runs it as it is, or what "
            "would stop it (names without a stand-in, GPU-only code on a machine without a GPU, MNIST files "
            "nowhere on this machine). Exit status: 0 when every use runs under graphmode run, 1 when some "
            "use was removed or is unknown, 2 when a file could not be read or parsed."
        ),
    )
    parser.add_argument("scripts", nargs="+", metavar="SCRIPT", help="Python files or folders (searched for *.py)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the checklist")
    parser.set_defaults(handler=_run)
