"""``graphmode run [--placement[=FILE.json]] SCRIPT [ARGS...]``: run a TF1 script unmodified."""

from __future__ import annotations

import argparse
import sys

_USAGE = "graphmode run [-h] [--placement[=FILE.json]] [--animations={save,run,off}] SCRIPT [ARGS...]"
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
"""


_ANIMATION_MODES = ("save", "run", "off")


def _split_command_line(tokens: list[str]) -> tuple[str | None, str | None, str, list[str]]:
    """Returns (placement, animations, script, script args); raises ValueError naming a bad option."""
    placement = animations = None
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
        else:
            raise ValueError(
                f"unknown option {token!r} before SCRIPT (options for the script go after SCRIPT)"
            )
    if index >= len(tokens):
        raise ValueError("SCRIPT is missing")
    return placement, animations, tokens[index], tokens[index + 1 :]


def _run(args: argparse.Namespace) -> int:
    tokens = list(args.command_line)
    if tokens[:1] in (["-h"], ["--help"]):
        print(f"usage: {_USAGE}\n\n{_DESCRIPTION}", end="")
        return 0
    try:
        placement, animations, script, script_args = _split_command_line(tokens)
    except ValueError as problem:
        print(f"usage: {_USAGE}\ngraphmode run: error: {problem}", file=sys.stderr)
        return 2

    from graphmode.errors import ScriptError
    from graphmode.legacy.runner import run_script

    try:
        return run_script(script, script_args, placement=placement, animations=animations)
    except ScriptError as problem:
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
