"""MkDocs hooks: every page is in the nav, and the API reference lists names from the stubs.

A page added under ``docs/`` that ``mkdocs.yml``'s nav does not name yet is appended to the nav
under its first heading (:func:`on_config`), so a page lands on the site with its file alone and
mkdocs.yml only orders what it knows.

The API reference: each capability declares its public names once, in ``graphmode/<capability>/__init__.pyi`` (read by
lazy_loader at run time and by type checkers). griffe, which mkdocstrings uses to read the code,
sees those names as imports rather than as the capability's own and renders none of them for a
bare ``::: graphmode.session``. So for every such line of ``docs/api.md`` whose module has a stub,
this hook adds ``options: members:`` with the stub's names, and the list is never written twice.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DIRECTIVE = re.compile(r"^::: (graphmode(?:\.\w+)*)[ \t]*$", re.MULTILINE)


def stub_names(module: str) -> list[str] | None:
    """The names ``module``'s ``__init__.pyi`` declares, in its order; None without a stub."""
    stub = ROOT.joinpath(*module.split("."), "__init__.pyi")
    if not stub.is_file():
        return None
    tree = ast.parse(stub.read_text(), str(stub))
    names = [alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names]
    return [name for name in names if not name.startswith("_")]


def _with_members(match: re.Match[str]) -> str:
    names = stub_names(match.group(1))
    if not names:
        return match.group(0)
    return match.group(0) + "\n    options:\n      members:\n" + "".join(f"        - {name}\n" for name in names)


def _nav_files(nav: list) -> set[str]:
    files: set[str] = set()
    for entry in nav:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            if isinstance(value, list):
                files |= _nav_files(value)
            elif isinstance(value, str):
                files.add(value)
    return files


def _title(page: Path) -> str:
    for line in page.read_text().splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem.replace("-", " ").capitalize()


def on_config(config):
    """Appends the pages under docs_dir that the nav does not name, each under its first heading."""
    if config["nav"] is None:
        return config
    docs = Path(config["docs_dir"])
    named = _nav_files(config["nav"])
    for page in sorted(docs.rglob("*.md")):
        relative = page.relative_to(docs).as_posix()
        if relative not in named:
            config["nav"].append({_title(page): relative})
    return config


def on_page_markdown(markdown: str, page, **_) -> str:
    if page.file.src_uri != "api.md":
        return markdown
    return DIRECTIVE.sub(_with_members, markdown)
