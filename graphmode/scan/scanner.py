"""``graphmode scan``: list the TF1 symbols a script uses that TensorFlow 2 lacks, without running it.

The scan parses each script (``ast``), follows the names ``tensorflow`` is
bound to (``import tensorflow as tf``, ``import tensorflow.compat.v1 as tf``,
``from tensorflow import train``) and checks every dotted use against the
installed TensorFlow: first its TF2 namespace, then graphmode's TF1 API.
Each use TensorFlow 2 lacks becomes a :class:`ScanFinding`:

* ``mapped``: graphmode's TF1 API provides it (``tf.placeholder`` ->
  ``tf.compat.v1.placeholder``, ``tf.Session`` -> ``graphmode.Session``);
* ``removed``: dropped with no ``tf.compat.v1`` equivalent (``tf.contrib.*``),
  with the replacement when there is one;
* ``unknown``: in neither namespace (a pre-1.0 name not in graphmode's table,
  or a typo); it fails at run time too;
* ``note``: present in TensorFlow 2 but misleading in TF1 scripts
  (``tf.test.is_built_with_cuda``).

Each file also gets a :class:`~graphmode.scan.verdict.ScriptVerdict`:
whether ``graphmode run`` runs it as it is, and what would stop it. Files are
decoded as Python reads them (PEP 263); one that cannot be decoded or parsed
(Python 2 syntax, an expression too deep for the parser) is listed in
``problems`` and the others are still scanned.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import tokenize
import types
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from graphmode._runtime import tf
from graphmode.contrib import namespace as contrib
from graphmode.legacy import api, removed
from graphmode.scan.imports import local_imports
from graphmode.scan.verdict import LocalCode, ScriptVerdict, judge, unreadable

MAPPED, REMOVED, UNKNOWN, NOTE = "mapped", "removed", "unknown", "note"

_NOTES = {
    "test.is_built_with_cuda": (
        "True for TensorFlow's CPU wheel too, so it does not mean a GPU is here; under graphmode run, "
        "ops it pins to /gpu:N run on CPU (soft placement). Ask tf.config.list_physical_devices('GPU')"
    ),
}
_SESSION_CLASSES = (
    (api.TF1.Session, "graphmode.Session (a tf.compat.v1.Session subclass)"),
    (api.TF1.InteractiveSession, "graphmode.InteractiveSession (a tf.compat.v1.InteractiveSession subclass)"),
)


class ScanFinding(NamedTuple):
    """One use of a TF1 symbol TensorFlow 2 lacks (or misleads with).

    Attributes:
        file: the script's path as given.
        line: 1-based line of the use.
        column: 1-based column of the use.
        symbol: the symbol as written, with the script's alias (``tf.train.AdamOptimizer``).
        status: ``"mapped"``, ``"removed"``, ``"unknown"`` or ``"note"``.
        maps_to: what ``graphmode run`` gives the script for it (mapped only).
        replacement: what to write instead (removed only; None when TensorFlow has none).
        detail: why, or how the replacement differs (removed); the note (note, unknown).
    """

    file: str
    line: int
    column: int
    symbol: str
    status: str
    maps_to: str | None = None
    replacement: str | None = None
    detail: str = ""


class ScanReport(NamedTuple):
    """The findings of one scan, in file and line order, the files that could not be read, a verdict per file."""

    files: tuple[str, ...]
    findings: tuple[ScanFinding, ...]
    problems: tuple[str, ...]
    verdicts: tuple[ScriptVerdict, ...] = ()

    @property
    def failing(self) -> tuple[ScanFinding, ...]:
        """The uses that fail under ``graphmode run`` (removed or unknown)."""
        return tuple(finding for finding in self.findings if finding.status in (REMOVED, UNKNOWN))

    @property
    def exit_code(self) -> int:
        """2 when a file could not be read, 1 when a use would fail, else 0."""
        return 2 if self.problems else 1 if self.failing else 0

    def to_json(self, indent: int | None = 2) -> str:
        """Returns the report as one JSON object: files, findings, problems, verdicts, summary."""
        return json.dumps(
            {
                "files": list(self.files),
                "findings": [finding._asdict() for finding in self.findings],
                "problems": list(self.problems),
                "verdicts": [verdict._asdict() for verdict in self.verdicts],
                "summary": self.summary_counts(),
            },
            indent=indent,
        )

    def summary_counts(self) -> dict[str, int]:
        """Counts of uses and of distinct symbols per status."""
        counts: dict[str, int] = {"uses": len(self.findings)}
        for status in (MAPPED, REMOVED, UNKNOWN, NOTE):
            of_status = [finding for finding in self.findings if finding.status == status]
            counts[f"{status}_uses"] = len(of_status)
            counts[f"{status}_symbols"] = len({finding.symbol for finding in of_status})
        counts["removed_without_replacement"] = len(
            {f.symbol for f in self.findings if f.status == REMOVED and f.replacement is None}
        )
        return counts

    def format_text(self) -> str:
        """Returns the report as a checklist: one line per use, a verdict line per file, a summary line."""
        lines = [problem for problem in self.problems]
        width = max((len(f"{f.file}:{f.line}") for f in self.findings), default=0)
        symbol_width = max((len(f.symbol) for f in self.findings), default=0)
        for finding in self.findings:
            where = f"{finding.file}:{finding.line}".ljust(width)
            lines.append(f"{where}  {finding.symbol.ljust(symbol_width)}  {_verdict(finding)}")
        lines.extend(verdict.format_line() for verdict in self.verdicts)
        counts = self.summary_counts()
        lines.append(
            f"{len(self.files)} file(s): {counts['uses']} use(s) of TF1 symbols TensorFlow 2 lacks; "
            f"{counts['mapped_symbols']} symbol(s) mapped by graphmode run, "
            f"{counts['removed_symbols']} removed ({counts['removed_without_replacement']} without a replacement), "
            f"{counts['unknown_symbols']} unknown, {counts['note_symbols']} note(s)"
        )
        return "\n".join(lines)


def _verdict(finding: ScanFinding) -> str:
    if finding.status == MAPPED:
        return f"-> {finding.maps_to}"
    if finding.status == REMOVED and finding.replacement is not None:
        return f"REMOVED, use {finding.replacement}" + (f"; {finding.detail}" if finding.detail else "")
    if finding.status == REMOVED:
        return f"REMOVED, no replacement: {finding.detail}"
    return f"{finding.status.upper()}: {finding.detail}"


def _walk(root, parts: Sequence[str]) -> tuple[int, object]:
    """How many of ``parts`` resolve as attributes from ``root``, and the last value reached."""
    value = root
    for count, part in enumerate(parts):
        try:
            if isinstance(value, api.NAMESPACES):
                found = value._tf1_lookup(part)
                if found is api._MISSING:
                    return count, value
                value = found
            else:
                value = getattr(value, part)
        except Exception:  # noqa: BLE001 - lazy TensorFlow attributes may raise anything on access
            return count, value
    return len(parts), value


def _importable_in_tf2(parts: Sequence[str]) -> bool:
    try:
        importlib.import_module(".".join(["tensorflow", *parts]))
        return True
    except ImportError:
        return False


class _Use(NamedTuple):
    line: int
    column: int
    written: list[str]  # the alias then the attributes, as in the source
    path: list[str]  # the same use relative to `tensorflow`
    is_import: bool


def _classify(file: str, use: _Use) -> ScanFinding | None:
    path, alias_length = use.path, len(use.path) - len(use.written) + 1
    tf2_count = _walk(tf, path)[0]
    tf2_known = tf2_count == len(path) or (use.is_import and _importable_in_tf2(path))

    def written_through(count: int) -> str:
        return ".".join(use.written[: max(1, count - alias_length + 1)])

    location = {"file": file, "line": use.line, "column": use.column}
    relative = path[2:] if path[:2] == ["compat", "v1"] else path
    if tf2_known:
        note = _NOTES.get(".".join(relative))
        return ScanFinding(**location, symbol=written_through(len(path)), status=NOTE, detail=note) if note else None
    tf1_count, value = _walk(api.TF1, path)
    # tf.contrib.rnn resolves, tf.contrib.rnn.LSTMBlockCell does not: the use fails (a module
    # view lacking the next name; unlike FLAGS, whose attributes exist only at run time).
    stops_in_contrib = isinstance(value, api.NAMESPACES) and tf1_count < len(path)
    if tf1_count > tf2_count and tf1_count >= alias_length and not stops_in_contrib:
        symbol = written_through(tf1_count)
        session = next((text for cls, text in _SESSION_CLASSES if value is cls), None)
        maps_to = (session or _provided_by(value) or _contrib_target(path[:tf1_count], value)
                   or _tf1_name(path[:tf1_count]))
        return ScanFinding(**location, symbol=symbol, status=MAPPED, maps_to=maps_to)
    entry = removed.find_removed(".".join(relative))
    symbol = ".".join(use.written)
    if entry is not None:
        return ScanFinding(**location, symbol=symbol, status=REMOVED, replacement=entry.replacement, detail=entry.note)
    return ScanFinding(**location, symbol=symbol, status=UNKNOWN,
                       detail="in neither TensorFlow 2 nor tf.compat.v1 (a name older than TF 1.0, or a typo)")


def _contrib_target(parts: Sequence[str], value: object) -> str | None:
    """What a tf.contrib name resolves to (as graphmode run's stderr line says), or None outside tf.contrib."""
    relative = list(parts[2:] if parts[:2] == ["compat", "v1"] else parts)
    if relative[:1] != ["contrib"]:
        return None
    if isinstance(value, contrib.ContribNamespace):
        return f"graphmode's tf.{'.'.join(relative)} (its moved names and adapters)"
    module = getattr(value, "__module__", None) or ""
    if module.startswith("graphmode.") and hasattr(value, "__qualname__"):
        return contrib.resolution(".".join(relative)) or f"{module}.{value.__qualname__}"
    return contrib.resolution(".".join(relative))


def _provided_by(value: object) -> str | None:
    """What provides a module graphmode stands in for (``tensorflow.examples...input_data``), else None."""
    return value.__dict__.get("__graphmode_provides__") if isinstance(value, types.ModuleType) else None


def _tf1_name(parts: Sequence[str]) -> str:
    relative = list(parts[2:] if parts[:2] == ["compat", "v1"] else parts)
    if relative and not hasattr(tf.compat.v1, relative[0]):
        return ".".join(["tensorflow", *relative])  # an internal module (tensorflow.python...)
    return ".".join(["tf.compat.v1", *relative])


def _tensorflow_parts(module: str | None) -> list[str] | None:
    if module == "tensorflow":
        return []
    if module and module.startswith("tensorflow."):
        return module.split(".")[1:]
    return None


def _collect_uses(tree: ast.AST) -> list[_Use]:
    aliases: dict[str, list[str]] = {}
    uses: list[_Use] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                parts = _tensorflow_parts(name.name)
                if parts is None:
                    continue
                if name.asname:
                    aliases[name.asname] = parts
                else:
                    aliases["tensorflow"] = []
                if parts:
                    uses.append(_Use(node.lineno, node.col_offset + 1, name.name.split("."), parts, True))
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            parts = _tensorflow_parts(node.module)
            if parts is None:
                continue
            for name in node.names:
                if name.name == "*":
                    continue
                aliases[name.asname or name.name] = [*parts, name.name]
                uses.append(_Use(node.lineno, node.col_offset + 1, [*node.module.split("."), name.name],
                                 [*parts, name.name], True))
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        attributes: list[str] = []
        base = node
        while isinstance(base, ast.Attribute):
            attributes.insert(0, base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in aliases:
            uses.append(_Use(node.lineno, node.col_offset + 1, [base.id, *attributes],
                             [*aliases[base.id], *attributes], False))
    return uses


def scan_source(source: str, file: str = "<source>") -> list[ScanFinding]:
    """Returns the findings for one script's source, in line order.

    Raises:
        SyntaxError: the source is not valid Python 3.
    """
    return _findings(ast.parse(source, filename=file), file)


def _findings(tree: ast.AST, file: str) -> list[ScanFinding]:
    findings = [finding for use in _collect_uses(tree) if (finding := _classify(file, use)) is not None]
    return sorted(findings, key=lambda finding: (finding.line, finding.column))


def _expand(paths: Iterable[str]) -> list[str]:
    files = []
    for path in paths:
        if os.path.isdir(path):
            for folder, _, names in sorted(os.walk(path)):
                files.extend(os.path.join(folder, name) for name in sorted(names) if name.endswith(".py"))
        else:
            files.append(path)
    return files


def _parse(file: str) -> tuple[ast.AST | None, str | None]:
    """The file parsed, or None and why it could not be."""
    try:
        # As Python reads a script (PEP 263): a UTF-8 BOM or a coding line decides, else UTF-8.
        with tokenize.open(file) as handle:
            source = handle.read()
        return ast.parse(source, filename=file), None
    except OSError as error:
        return None, f"{file}: cannot read it ({error.strerror or error})"
    except UnicodeDecodeError as error:
        return None, (f"{file}: cannot decode it as {error.encoding} ({error.reason} at byte {error.start}); "
                      "give it a coding line (# -*- coding: latin-1 -*-) or save it as UTF-8")
    except RecursionError:
        return None, (f"{file}: cannot parse it: an expression is nested too deeply for Python's parser "
                      "(RecursionError); Python cannot compile it either")
    except (SyntaxError, ValueError) as error:
        where = f"{file}:{error.lineno}" if isinstance(error, SyntaxError) and error.lineno else file
        return None, (
            f"{where}: cannot parse it as Python 3 ({error.msg if isinstance(error, SyntaxError) else error}); "
            "Python 2 syntax (print statements, `except E, e`) must be converted first"
        )


def scan_files(paths: Iterable[str]) -> ScanReport:
    """Scans scripts (folders are searched for ``*.py``) without running them.

    A file that cannot be read or parsed is listed in ``problems`` (with the
    reason) and the others are still scanned. Each script's verdict includes the
    local modules it imports (:mod:`graphmode.scan.imports`).
    """
    files, findings, problems, verdicts = [], [], [], []
    parsed: dict[str, ast.AST | None] = {}
    failing_in: dict[str, list[ScanFinding]] = {}

    def parse(path: str) -> ast.AST | None:
        key = os.path.abspath(path)
        if key not in parsed:
            parsed[key] = _parse(path)[0]
        return parsed[key]

    def failing(path: str, tree: ast.AST) -> list[ScanFinding]:
        key = os.path.abspath(path)
        if key not in failing_in:
            failing_in[key] = [f for f in _findings(tree, path) if f.status in (REMOVED, UNKNOWN)]
        return failing_in[key]

    for file in _expand(paths):
        files.append(file)
        tree, problem = _parse(file)
        if problem is not None:
            problems.append(problem)
            verdicts.append(unreadable(file, problem))
            continue
        found = _findings(tree, file)
        findings.extend(found)
        local = [
            LocalCode(module, module_tree, failing(module.path, module_tree) if module_tree is not None else [])
            for module in local_imports(tree, file, parse)
            for module_tree in [parse(module.path)]
        ]
        verdicts.append(judge(file, tree, [f for f in found if f.status in (REMOVED, UNKNOWN)], local))
    return ScanReport(tuple(files), tuple(findings), tuple(problems), tuple(verdicts))
