"""``graphmode run [--placement[=FILE.json]] [--record DIR ...] SCRIPT [ARGS...]``: run a TF1 script unmodified."""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple

_USAGE = ("graphmode run [-h] [--placement[=FILE.json]] [--animations={save,run,off}] "
          "[--record DIR [--record-steps N] [--record-max-bytes B]] SCRIPT [ARGS...]")
_DESCRIPTION = """\
Run SCRIPT as __main__ with ARGS as its arguments, with `import tensorflow as tf`
giving the TF1 API (tf.compat.v1, v2 behaviour disabled, graphmode's sessions).
The exit code, output and tracebacks are the script's own. Everything after
SCRIPT belongs to the script.

options:
  -h, --help                show this help and exit
  --placement               print each session's placement table to stderr when the script ends
  --placement=FILE.json     write each session's placement to FILE.json instead
  --animations=MODE         without a display, what plt.show() does with matplotlib animations:
                            save (default): run their frames to the end and write each to
                            SCRIPT-animation-N.gif in the working directory; run: run the frames
                            only; off: nothing (as plain Agg). Also GRAPHMODE_ANIMATIONS=MODE.
  --record DIR              write a trace of the script's first train steps to the folder DIR
                            (fed values, fetched values, the whole state, the graph; see docs/trace.md)
  --record-steps N          how many train steps to record (default 100)
  --record-max-bytes B      the trace's size cap, e.g. 500M or 2G (default 1G); fewer states are
                            kept to stay under it, and the trace says so
"""
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


_ANIMATION_MODES = ("save", "run", "off")


class _Options(NamedTuple):
    placement: str | None = None
    animations: str | None = None
    record: str | None = None
    record_steps: int = 100
    record_max_bytes: int = 1 << 30  # graphmode.trace.writer.DEFAULT_MAX_BYTES (not imported: it brings TensorFlow)


def _size(option: str, text: str) -> int:
    number, unit = text.rstrip("KMGTkmgtB").strip(), text[len(text.rstrip("KMGTkmgtB")):].upper().rstrip("B")
    try:
        value = int(float(number) * _SIZE_UNITS[unit])
    except (ValueError, KeyError):
        raise ValueError(f"{option} takes a size in bytes like 500M or 2G; got {text!r}") from None
    if value < 1:
        raise ValueError(f"{option} must be positive; got {text!r}")
    return value


def _count(option: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{option} takes a whole number of steps; got {text!r}") from None
    if value < 1:
        raise ValueError(f"{option} must be at least 1; got {value}")
    return value


_VALUED = {"--record": str, "--record-steps": _count, "--record-max-bytes": _size}


def _split_command_line(tokens: list[str]) -> tuple[_Options, str, list[str]]:
    """Returns (options, script, script args); raises ValueError naming a bad option."""
    placement = animations = None
    values: dict[str, object] = {}
    index = 0
    while index < len(tokens) and tokens[index].startswith("-"):
        token = tokens[index]
        index += 1
        if token == "--":
            break
        if token == "--placement":
            placement = "-"
        elif token.startswith("--placement="):
            placement = token.partition("=")[2]
            if not placement:
                raise ValueError("--placement= needs a file name (or write --placement to print the tables)")
        elif token.startswith("--animations="):
            animations = token.partition("=")[2]
            if animations not in _ANIMATION_MODES:
                raise ValueError(f"--animations={animations}: choose one of {', '.join(_ANIMATION_MODES)}")
        elif token.partition("=")[0] in _VALUED:
            option, equals, value = token.partition("=")
            if not equals:
                if index >= len(tokens):
                    raise ValueError(f"{option} needs a value")
                value, index = tokens[index], index + 1
            convert = _VALUED[option]
            values[option[2:].replace("-", "_")] = value if convert is str else convert(option, value)
        else:
            raise ValueError(
                f"unknown option {token!r} before SCRIPT (options for the script go after SCRIPT)"
            )
    if index >= len(tokens):
        raise ValueError("SCRIPT is missing")
    if "record" not in values and ("record_steps" in values or "record_max_bytes" in values):
        raise ValueError("--record-steps and --record-max-bytes need --record DIR")
    return _Options(placement, animations, **values), tokens[index], tokens[index + 1 :]


def _run(args: argparse.Namespace) -> int:
    tokens = list(args.command_line)
    if tokens[:1] in (["-h"], ["--help"]):
        print(f"usage: {_USAGE}\n\n{_DESCRIPTION}", end="")
        return 0
    try:
        options, script, script_args = _split_command_line(tokens)
    except ValueError as problem:
        print(f"usage: {_USAGE}\ngraphmode run: error: {problem}", file=sys.stderr)
        return 2

    from graphmode.errors import ScriptError, TraceError
    from graphmode.legacy.runner import run_script

    try:
        return run_script(script, script_args, placement=options.placement, animations=options.animations,
                          record=options.record, record_steps=options.record_steps,
                          record_max_bytes=options.record_max_bytes)
    except (ScriptError, TraceError) as problem:
        print(f"graphmode run: error: {problem}", file=sys.stderr)
        return 2


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    # The options before SCRIPT are read by _split_command_line: argparse would
    # let `--placement SCRIPT` take SCRIPT as the file name, and would read the
    # script's own options as graphmode's. With '+' as the only prefix,
    # argparse hands every token to command_line untouched.
    parser = subparsers.add_parser(
        "run",
        help="run an unmodified TF1 script on TensorFlow 2 (graphmode's TF1 API)",
        usage=_USAGE,
        prefix_chars="+",
        add_help=False,
    )
    parser.add_argument("command_line", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=_run)
