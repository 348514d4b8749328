"""What a user installing graphmode gets besides the code: the license its metadata names, type hints
(PEP 561), the ruff version the suite lints with, and the extras the README's commands install."""

from __future__ import annotations

import configparser
from importlib import metadata
from pathlib import Path

import graphmode

ROOT = Path(__file__).resolve().parents[1]


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _requirements(extra: str) -> dict[str, str]:
    """``{name: specifier}`` of one extra in setup.cfg, comments left out."""
    lines = _setup_cfg()["options.extras_require"][extra].splitlines()
    requirements = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name = line.split("=")[0].split(">")[0].split("<")[0].split("~")[0].strip()
            requirements[name] = line[len(name):].strip()
    return requirements


def test_license_file_is_the_apache_license_the_metadata_names():
    metadata_section = _setup_cfg()["metadata"]
    assert metadata_section["license"] == "Apache-2.0"
    assert metadata_section["license_files"].split() == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a pointer to it
    assert text.startswith("Copyright 2026 The graphmode authors\n")


def test_type_hints_marker_ships_with_the_package():
    package = Path(graphmode.__file__).parent
    assert (package / "py.typed").is_file()
    assert _setup_cfg()["options.package_data"]["graphmode"].split() == ["py.typed"]
    # The stubs are the public names at run time too (lazy_loader): every package's must ship.
    assert _setup_cfg()["options.package_data"]["*"].split() == ["*.pyi"]
    assert (package / "__init__.pyi").is_file()


def test_ruff_is_pinned_to_the_version_that_lints_the_suite():
    specifier = _requirements("test")["ruff"]
    assert specifier.startswith("=="), f"ruff must be pinned exactly in the test extra, got {specifier!r}"
    assert specifier[2:] == metadata.version("ruff"), "the installed ruff is not the pinned one: pip install -e '.[test]'"


def test_the_extras_the_readme_installs_exist():
    readme = (ROOT / "README.md").read_text()
    extras = set(_setup_cfg()["options.extras_require"])
    for extra in ("examples", "test"):
        assert f'pip install -e ".[{extra}]"' in readme
        assert extra in extras
    assert "pytest" in _requirements("test")
