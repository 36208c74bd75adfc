"""The README and docs/ stay true: every relative link points at a file that exists, and every
`python -m zoo.X` / `zoo X` command they show is a command that exists."""

import importlib.util
import os
import subprocess
import sys
import re
from pathlib import Path

from zoo import console

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MODULE_COMMAND = re.compile(r"python -m (zoo(?:\.[a-z_]+)+)")


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address, or an anchor on the same page
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_every_command_shown_exists():
    missing = []
    for page in PAGES:
        text = page.read_text()
        for module in set(MODULE_COMMAND.findall(text)):
            if importlib.util.find_spec(module) is None:
                missing.append(f"{page.relative_to(ROOT)}: python -m {module}")
        for name in set(re.findall(r"`zoo ([a-z][a-z-]*)", text)):
            if name not in console.COMMANDS:
                missing.append(f"{page.relative_to(ROOT)}: zoo {name}")
    assert not missing, missing
    assert len(PAGES) >= 10  # README and the docs pages were all read


def test_the_docs_site_builds_without_a_warning(tmp_path):
    """`mkdocs build --strict`: every page of the nav, every link between pages (the README and the
    committed reports join the site through docs/hooks.py), every anchor."""
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and (site / "guide" / "reading" / "index.html").is_file()
    assert (site / "project" / "index.html").is_file() and (site / "reports" / "heads" / "index.html").is_file()
    results = (site / "results" / "index.html").read_text()
    assert 'href="../reports/heads/"' in results  # a link written for the repository, pointed at the site's page


def test_the_configuration_guide_carries_the_key_table_the_schema_gives():
    from zoo.config.keys import key_rows, key_table

    page = (ROOT / "docs" / "guide" / "configuration.md").read_text()
    written = page.split("<!-- keys:start -->\n", 1)[1].split("<!-- keys:end -->", 1)[0].strip()
    assert written == key_table(), "regenerate it: python -m zoo.train --keys"
    keys = [row[0] for row in key_rows()]
    assert {"data.draw_sizes", "train.phases", "tracking.experiment", "seed"} <= set(keys) and len(keys) == len(set(keys))
    assert all(meaning for _, _, _, meaning in key_rows())  # every key says what it means
