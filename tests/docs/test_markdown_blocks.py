"""The machinery that runs the pages' blocks (markdown_blocks.py, shell_blocks.py, shown_output.py),
on small pages of its own."""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from markdown_blocks import SYBIL, Markers, enter_scratch, is_slow, leave_scratch
from shell_blocks import HEADLESS_ENV, logical_commands, run_server, shell_script
from shown_output import lines_match
from sybil.example import NotEvaluated, SybilFailure

SAMPLE = '''# title

```python
x = 2
print(x * 21)
```

```
42
```

<!-- docs-test: slow serves="at http://\\S+ \\(Press" -->

```bash
sleep 1000
```

```text
an illustration, not an output
```

<!-- skip: next "needs a GPU: /gpu:0 must exist" -->
```python
print(x)
```

```console
$ echo hi
hi
```

<!-- docs-test: rtol=0.2 -->
```bash
export GREETING='a value 1.5
over two lines' && echo "$GREETING"
```
<!-- docs-test: output -->
```text
a value 1.7
over two lines
```
'''


def _examples(tmp_path: Path, text: str, name: str = "page.md"):
    page = tmp_path / name
    page.write_text(text)
    document = SYBIL.parse(page)
    return document, list(document.examples())


@pytest.fixture
def page(tmp_path):
    documents = []

    def parse(text: str):
        document, examples = _examples(tmp_path, text)
        enter_scratch(document.namespace)
        documents.append(document)
        return examples

    yield parse
    for document in reversed(documents):
        leave_scratch(document.namespace)


def test_blocks_markers_and_shown_outputs_are_read(tmp_path):
    _, examples = _examples(tmp_path, SAMPLE)
    python, server, skip, skipped, console, shell = examples
    assert (python.line, python.region.lexemes["shown"].text, python.region.lexemes["shown"].line) == (3, "42\n", 9)
    assert python.region.lexemes["markers"] == Markers()
    assert server.region.lexemes["markers"] == Markers(slow=True, serves=r"at http://\S+ \(Press")
    assert "shown" not in server.region.lexemes  # a ```text block after it is an illustration
    assert skip.parsed == ("next", '"needs a GPU: /gpu:0 must exist"')
    assert console.region.lexemes["shown"].text == "hi"
    assert shell.region.lexemes["markers"].rtol == 0.2
    assert shell.region.lexemes["shown"].text == "a value 1.7\nover two lines\n"
    assert logical_commands(str(shell.parsed)) == [str(shell.parsed).rstrip("\n")]
    slow_item, fast_item = SimpleNamespace(example=server), SimpleNamespace(example=python)
    assert is_slow(slow_item) and not is_slow(fast_item) and not is_slow(SimpleNamespace())


def test_unknown_markers_and_orphan_outputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unknown docs-test marker\(s\) \['slw'\]"):
        _examples(tmp_path, "<!-- docs-test: slw -->\n```python\npass\n```\n")
    with pytest.raises(ValueError, match="page.md line 3: a block marked output with no code block before it"):
        _examples(tmp_path, "text\n<!-- docs-test: output -->\n```text\n1\n```\n")


def test_blocks_run_in_one_namespace_per_page_and_outputs_are_compared(page):
    examples = page(SAMPLE)
    python, _, skip, skipped, console, shell = examples
    assert python.evaluate() is None is console.evaluate() is shell.evaluate()  # 1.7 vs 1.5 within rtol=0.2
    skip.evaluate()
    with pytest.raises(Exception, match="needs a GPU") as skipping:
        skipped.evaluate()
    assert type(skipping.value).__name__ == "SkipTest" or isinstance(skipping.value, NotEvaluated)
    wrong = page("```python\nprint(41)\n```\n\n```\n42\n```\n")[0]
    with pytest.raises(SybilFailure, match=re.escape("page.md line 1: the output the page shows differs from what the "
                                                  "code prints (numbers within rtol=1e-06, atol=0)")) as failure:
        wrong.evaluate()
    assert "-42\n+41" in str(failure.value)


def test_python_blocks_name_their_page_line_in_tracebacks(page):
    first, second = page("```python\ny = 1\n```\n\ntext\n\n```python\n\nprint(y)\nprint(z)\n```\n")
    first.evaluate()
    with pytest.raises(NameError, match="'z' is not defined") as failure:
        second.evaluate()
    assert failure.traceback[-1].lineno + 1 == 10  # the page line of print(z)


def test_pytest_blocks_run_as_a_test_file_with_the_page_names(page):
    setup, passing, failing = page("```python\nanswer = 42\n```\n\n<!-- docs-test: pytest -->\n```python\n"
                                   "def test_answer():\n    assert answer == 42\n```\n\n<!-- docs-test: pytest -->\n"
                                   "```python\ndef test_answer():\n    assert answer == 41\n```\n")
    setup.evaluate()
    assert passing.evaluate() is None
    with pytest.raises(SybilFailure, match=re.escape("pytest exited 1 on the block at line 12 (5 means it collected no")):
        failing.evaluate()


def test_shell_blocks_name_the_failing_command(page):
    block = page("```bash\necho one\nfalse && echo never\necho three\n```\n")[0]
    with pytest.raises(SybilFailure) as failed:
        block.evaluate()
    failure = str(failed.value)
    assert "command failed (exit 1): false && echo never" in failure
    assert "three" not in failure.split("stderr:")[0]


def test_pip_install_is_checked_not_run():
    with pytest.raises(pytest.fail.Exception, match="installs the extra 'nosuchextra', which setup.cfg does not declare"):
        shell_script(['pip install -e ".[nosuchextra]" && python -m pytest'], "page.md line 1")
    assert shell_script(['pip install -e ".[test]" && python -m pytest'], "page.md line 1") == "set -o pipefail\n"


def test_numbers_are_compared_with_the_stated_tolerance():
    shown = "loss (3, 1)  1.36e-07  at step 1: 370x"
    assert lines_match(shown, "loss (3, 1)      1.36e-07  at step 1: 370x", 1e-6, 0)  # columns may move
    for printed in ("loss (3, 1)  1.52e-07  at step 1: 370x", "loss (3, 1)  1.36e-07  at step 2: 370x",
                    "loss (3, 2)  1.36e-07  at step 1: 370x", "lass (3, 1)  1.36e-07  at step 1: 370x",
                    "loss (3, 1)  1.36e-07  at step 1: 370"):
        assert not lines_match(shown, printed, 1e-6, 0), printed
    assert lines_match(shown, "loss (3, 1)  1.52e-07  at step 1: 370.0x", 0.2, 0)
    assert not lines_match(shown, "loss (3, 1)  1.7e-07  at step 1: 370x", 0.2, 0)
    assert lines_match(shown, "loss (3, 1)  9.1e-07  at step 1: 370x", 1e-6, 1e-6)
    assert not lines_match("w1 = 0.5", "w2 = 0.5", 1, 1)  # a digit inside a name is text


def test_a_server_is_stopped_once_ready_and_one_that_never_is_fails(tmp_path):
    start = time.monotonic()
    assert run_server("echo setup && echo listening on 8000 && sleep 600\n", tmp_path, HEADLESS_ENV,
                      re.compile(r"listening on \d+"), 60, "page.md line 1") is None
    assert time.monotonic() - start < 30
    failure = run_server("sleep 600\n", tmp_path, HEADLESS_ENV, re.compile("listening"), 2, "page.md line 1")
    assert "never printed /listening/ (still running)" in failure
