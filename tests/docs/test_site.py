"""The documentation site builds with ``mkdocs build --strict``; the README stays a landing page."""

from __future__ import annotations

import os
import subprocess
import sys

from markdown_blocks import ROOT


def test_the_site_builds_strictly(tmp_path):
    # --strict turns every warning into a failure: a link to a page that does not exist, a page the
    # nav names but the folder lacks, a docstring whose parameters do not match its signature.
    environment = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("graphmode.session.Session", "graphmode.errors.FeedError", "graphmode.parity"):
        assert f'id="{name}"' in api, f"the API reference has no entry for {name}"
    # Every page is in the nav, those mkdocs.yml does not name yet too (mkdocs_hooks.on_config).
    home = (tmp_path / "site" / "index.html").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.stem != "index":
            assert f'href="{page.stem}/" class="md-nav__link' in home, f"docs/{page.name} is not in the site's nav"


def test_the_readme_is_a_landing_page():
    readme = (ROOT / "README.md").read_text()
    # One example per job, depth in docs/; the migrate example is a whole program shown unedited beside its
    # original (with what migrate printed), which takes about 90 of these lines, and the corpus results about 10.
    assert len(readme.splitlines()) < 365, "README.md is the landing page: depth goes to docs/"
    assert "## Quick start" in readme
