"""A block's shown output against what it printed: text exact, numbers within a stated tolerance.

The conventions are in markdown_blocks.py; the rule is :func:`lines_match`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from sybil import Example


@dataclass(frozen=True)
class Shown:
    """A block's expected output and the page line it starts on."""

    text: str
    line: int


# A number: not the tail of a name (``w1``, ``Adam_1``); a unit may follow (``370x``, ``5s``).
NUMBER = re.compile(r"(?<![\w.])([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)(?![.\d])")
SPACES = re.compile(r"\s+")


def _is_float(token: str) -> bool:
    return any(mark in token for mark in ".eE")


def lines_match(expected: str, actual: str, rtol: float, atol: float) -> bool:
    """One shown line against one printed line: text exact (runs of spaces as one), numbers with tolerance."""
    shown, printed = NUMBER.split(expected), NUMBER.split(actual)
    if len(shown) != len(printed):
        return False
    for index, (a, b) in enumerate(zip(shown, printed)):
        if index % 2 == 0:  # the text between numbers
            if SPACES.sub(" ", a) != SPACES.sub(" ", b):
                return False
        elif _is_float(a) or _is_float(b):
            if not abs(float(b) - float(a)) <= atol + rtol * abs(float(a)):
                return False
        elif int(a) != int(b):
            return False
    return True


def _normalized(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_difference(example: Example, printed: str) -> str | None:
    """None when ``printed`` matches the block's shown output (if any), else a diff naming the lines."""
    shown: Shown | None = example.region.lexemes.get("shown")
    if shown is None:
        return None
    markers = example.region.lexemes["markers"]  # its rtol and atol state the tolerance
    expected, actual = _normalized(shown.text), _normalized(printed)
    if len(expected) == len(actual) and all(lines_match(a, b, markers.rtol, markers.atol) for a, b in zip(expected, actual)):
        return None
    page = Path(example.path).name
    diff = "\n".join(difflib.unified_diff(expected, actual, f"{page} line {shown.line} (shown)",
                                          f"printed by the block at line {example.line}", lineterm=""))
    return (f"{page} line {example.line}: the output the page shows differs from what the code prints "
            f"(numbers within rtol={markers.rtol:g}, atol={markers.atol:g})\n{diff}")


