"""The code blocks of README.md and docs/**/*.md run as tests, through Sybil.

The root ``conftest.py`` hands these pages to :data:`SYBIL`; every block below becomes one pytest
item (``README.md::line:31,column:1``). Conventions, for whoever writes a page:

- **Python blocks** (```python) run in the pytest process, in page order, through Sybil's Python
  evaluator. The blocks of one page share a namespace: a later block may use what an earlier one
  defined. Each page runs in a scratch folder of its own (its current directory while its blocks
  run) holding copies of ``examples/``, ``benchmarks/`` and ``tests/docs/files/`` (files the pages'
  commands name, such as a ``train.py``).
- **Shown output**: a plain ``` block (no language) directly after a code block, with only blank
  lines between, is that block's expected stdout; so is a block marked ``output``. Other ```text
  blocks are illustrations and are not compared. In ```console blocks ``$ `` lines are the commands
  and the other lines their expected output.
- **Numbers in a shown output** are compared as numbers, because the last digits of float results
  differ between CPUs: a number written with a point or an exponent (``0.0048``, ``1.36e-07``, the
  ``370`` of ``370.0x``) matches when ``|printed - shown| <= atol + rtol * |shown|``, by default
  ``rtol=1e-6``, ``atol=0``; a code block's markers ``rtol=X`` / ``atol=X`` state a wider tolerance
  where its output needs one. Integers (counts, shapes, steps, indices) and all other text match
  exactly, except that runs of spaces count as one (columns move when a number's width does) and
  trailing whitespace is ignored. Output that depends on the machine in other ways (timings,
  addresses, progress bars) is not shown as an output: print what does not depend on it.
- **Shell blocks** (```bash, ```sh, ```console) run with bash in the page's scratch folder, each
  command checked in turn; a failing one is named. A pipeline fails when any of its commands does
  (``pipefail``), so do not cut a long output with ``| head``: the writer may still be writing when
  ``head`` exits, and fails on the closed pipe; write it to a file and show its head. ``pip install -e ".[extra]"`` is *checked*,
  never run (reinstalling would replace the package under test): the extra must exist in setup.cfg
  and each requirement it lists be installed at a matching version. ``python -m pytest`` (this
  suite) is left out of the block; tests/docs/test_quick_start.py runs it in the slow tier.
- **Markers**: an HTML comment on the line before a block's opening fence (blank lines allowed),
  ``<!-- docs-test: WORDS -->``, where WORDS are any of
  ``slow`` (minutes, or a cluster: the block runs only in ``python -m pytest -m slow``; a Python
  block marked slow must stand alone, importing what it uses, since the blocks around it do not run
  in that tier),
  ``output`` (this block is the expected output of the code block above),
  ``pytest`` (a Python block that is a test file: pytest runs it, with the page's names imported),
  ``setup=PATH`` (a Python file, relative to the repository root, run first: exec'd into the page's
  namespace for a Python block, ``python PATH`` in the scratch folder for a shell block),
  ``rtol=X`` / ``atol=X`` (the tolerance of the numbers in its shown output),
  ``timeout=SECONDS`` (shell blocks; default 300) and ``serves=REGEX`` (the block's last command is
  a server that runs until stopped: it passes once its output matches REGEX, and is then stopped).
- **Skips** are Sybil's own: ``<!-- skip: next "why" -->`` before a block that cannot run here
  (a second machine, the network); the reason shows in pytest's summary.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import sys
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from shell_blocks import ROOT, SCRATCH_KEY, console_commands, evaluate_shell
from shown_output import Shown, output_difference
from sybil import Document, Example, Region, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

# Path.match patterns, matched from the right: README.md at the root, every page under docs/.
PAGES = ["README.md", "docs/*.md", "docs/*/*.md", "docs/*/*/*.md"]
COPIED_INTO_SCRATCH = {"examples": "examples", "benchmarks": "benchmarks", "tests/docs/files": "."}
PYTHON = {"python", "py", "python3"}
SHELL = {"bash", "sh", "shell", "console"}
# ``readme-test:``, the older name, reads the same.
MARKER = re.compile(r"<!--\s*(?:docs|readme)-test:(.*?)-->\s*\n(?:[ \t]*\n)*$")


@dataclass(frozen=True)
class Markers:
    """What a ``<!-- docs-test: ... -->`` comment says about the block after it."""

    slow: bool = False
    output: bool = False
    pytest: bool = False
    setup: str | None = None
    rtol: float = 1e-6
    atol: float = 0.0
    timeout: float = 300.0
    serves: str | None = None

    @classmethod
    def parse(cls, text: str) -> Markers:
        """``"slow timeout=600"`` -> ``Markers(slow=True, timeout=600.0)``; unknown words are refused."""
        flags, values = set(), {}
        for word in shlex.split(text):  # serves="a regex with spaces"
            key, equals, value = word.partition("=")
            if equals:
                values[key] = value
            else:
                flags.add(key)
        unknown = (flags - {"slow", "output", "pytest"}) | (set(values) - {"setup", "rtol", "atol", "timeout", "serves"})
        if unknown:
            raise ValueError(f"unknown docs-test marker(s) {sorted(unknown)} in '<!-- docs-test:{text}-->'; "
                             "known: slow, output, pytest, setup=, rtol=, atol=, timeout=, serves=")
        return cls(slow="slow" in flags, output="output" in flags, pytest="pytest" in flags,
                   setup=values.get("setup"), rtol=float(values.get("rtol", 1e-6)),
                   atol=float(values.get("atol", 0.0)), timeout=float(values.get("timeout", 300.0)),
                   serves=values.get("serves"))


def _line_of(document: Document, offset: int) -> int:
    return document.text.count("\n", 0, offset) + 1


class MarkdownBlockParser:
    """A Sybil parser: Python and shell fenced blocks, with their markers and shown output.

    Sybil's own Markdown lexer finds the fences; this parser adds what Sybil has no notion of:
    the output block that follows a code block, the markers before it, and shell blocks.
    """

    def __init__(self) -> None:
        self.lexer = FencedCodeBlockLexer(language=r"[\w+-]*")

    def __call__(self, document: Document):
        blocks = sorted(self.lexer(document), key=lambda region: region.start)
        previous_end = 0
        pending: Region | None = None  # the last code block, while an output block may still follow
        for region in blocks:
            language = region.lexemes["language"].lower()
            gap = document.text[previous_end:region.start]
            marker = MARKER.search(gap)
            markers = Markers.parse(marker.group(1)) if marker else Markers()
            only_blank = not gap.strip()
            if pending is not None and (markers.output or (language == "" and only_blank)):
                pending.lexemes["shown"] = Shown(str(region.lexemes["source"]), _line_of(document, region.start) + 1)
                pending.end = region.end
                yield pending
                pending = None
            else:
                if pending is not None:
                    yield pending
                    pending = None
                if markers.output:
                    raise ValueError(f"{document.path} line {_line_of(document, region.start)}: a block marked "
                                     "output with no code block before it")
                evaluator = _EVALUATORS.get("pytest" if markers.pytest and language in PYTHON else
                                            "python" if language in PYTHON else
                                            "shell" if language in SHELL else "")
                if evaluator is not None:
                    region.lexemes["markers"] = markers
                    region.parsed = region.lexemes["source"]
                    region.evaluator = evaluator
                    if language == "console":
                        commands, expected = console_commands(str(region.parsed))
                        if expected.strip():
                            region.lexemes["shown"] = Shown(expected, _line_of(document, region.start) + 1)
                    pending = region
            previous_end = region.end
        if pending is not None:
            yield pending


# ---------------------------------------------------------------------------------------------
# Python blocks

_run_python = PythonEvaluator()


def _run_setup_into(example: Example) -> None:
    setup = example.region.lexemes["markers"].setup
    if setup:
        exec(compile((ROOT / setup).read_text(), str(ROOT / setup), "exec"), example.namespace)
        example.namespace.pop("__builtins__", None)


def evaluate_python(example: Example) -> str | None:
    """Runs a Python block (Sybil's evaluator), its stdout captured and compared with the shown output."""
    _run_setup_into(example)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        _run_python(example)
    return output_difference(example, printed.getvalue())


def evaluate_pytest_block(example: Example) -> str | None:
    """Runs a Python block that is a test file with pytest, the page's names importable into it."""
    _run_setup_into(example)
    tag = f"{Path(example.path).stem.replace('-', '_').replace('.', '_')}_{example.line}"
    module = types.ModuleType(f"docs_namespace_{tag}")
    module.__dict__.update({key: value for key, value in example.namespace.items() if not key.startswith("__")})
    sys.modules[module.__name__] = module
    folder = Path(tempfile.mkdtemp(prefix="docs-pytest-"))
    test_file = folder / f"test_docs_block_{tag}.py"
    # The import on line 1, the block on its page lines below it: tracebacks give page line numbers.
    test_file.write_text(f"from {module.__name__} import *  # noqa\n" + "\n" * max(0, example.line - 1) + str(example.parsed))
    try:
        status = pytest.main([str(test_file), "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(folder)])
    finally:
        sys.modules.pop(module.__name__, None)
        sys.modules.pop(test_file.stem, None)
        shutil.rmtree(folder, ignore_errors=True)
    if status != 0:
        return f"pytest exited {int(status)} on the block at line {example.line} (5 means it collected no test)"
    return None


_EVALUATORS = {"python": evaluate_python, "pytest": evaluate_pytest_block, "shell": evaluate_shell}


# ---------------------------------------------------------------------------------------------
# A page's scratch folder: its working directory while its blocks run


def enter_scratch(namespace: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="docs-page-"))
    for source, target in COPIED_INTO_SCRATCH.items():
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, folder / target, dirs_exist_ok=True)
    namespace[SCRATCH_KEY] = str(folder)
    namespace["__docs_previous_cwd__"] = os.getcwd()
    os.chdir(folder)


def leave_scratch(namespace: dict) -> None:
    os.chdir(namespace.pop("__docs_previous_cwd__"))
    shutil.rmtree(namespace.pop(SCRATCH_KEY), ignore_errors=True)


def is_slow(item: pytest.Item) -> bool:
    """True for a page block marked ``slow`` (the root conftest gives it pytest's ``slow`` mark)."""
    example = getattr(item, "example", None)
    markers = None if example is None else example.region.lexemes.get("markers")
    return bool(markers and markers.slow)


SYBIL = Sybil(parsers=[MarkdownBlockParser(), SkipParser()], patterns=PAGES, path=str(ROOT),
              setup=enter_scratch, teardown=leave_scratch)
