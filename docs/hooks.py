"""MkDocs hooks (mkdocs.yml `hooks:`): the repository's README and committed reports join the site, and
links written for reading on the repository (`../reports/heads/README.md`) are pointed at their page in
the site; a link to a file the site does not carry (code, configs) becomes the path in code font."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

SHARED_FOLDERS = ("reports",)  # repository folders whose pages and figures the site carries, at the same path
SHARED_SUFFIXES = (".md", ".png", ".csv", ".txt")  # reports' index.html would collide with README.md's page
README_URI = "project/README.md"  # the repository's README, beside (not instead of) the site's index.md
LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)|(!\[[^\]]*\]\()([^)\s]+)\)")


def on_files(files, config):
    root = Path(config.config_file_path).parent
    shared = [(root / "README.md", README_URI)] + [
        (path, path.relative_to(root).as_posix()) for folder in SHARED_FOLDERS
        for path in sorted((root / folder).rglob("*")) if path.is_file() and path.suffix in SHARED_SUFFIXES]
    for path, uri in shared:
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def site_uri(repo_path: str) -> str | None:
    """Where a repository file lives in the site, None when the site does not carry it."""
    if repo_path.startswith("docs/"):
        return repo_path.removeprefix("docs/")
    if repo_path == "README.md":
        return README_URI
    if repo_path.startswith(tuple(f"{folder}/" for folder in SHARED_FOLDERS)) and repo_path.endswith(SHARED_SUFFIXES):
        return repo_path
    return None


def repo_path_of(page_uri: str) -> str:
    """The repository path of a page's source: docs pages live under docs/, shared ones where they are."""
    if page_uri == README_URI:
        return "README.md"
    return page_uri if page_uri.startswith(SHARED_FOLDERS) else f"docs/{page_uri}"


def on_page_markdown(markdown, page, config, files):
    here = posixpath.dirname(repo_path_of(page.file.src_uri))
    page_dir = posixpath.dirname(page.file.src_uri)

    def rewrite(target: str) -> str | None:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            return target  # a URL, an anchor on this page, or a site-absolute path
        path, _, fragment = target.partition("#")
        uri = site_uri(posixpath.normpath(posixpath.join(here, path)))
        if uri is None:
            return None
        return posixpath.relpath(uri, page_dir or ".") + (f"#{fragment}" if fragment else "")

    def replace(match: re.Match) -> str:
        if match.group(3):  # an image: kept when the site carries it
            target = rewrite(match.group(4))
            return f"{match.group(3)}{target or match.group(4)})"
        text, target = match.group(1), match.group(2)
        new = rewrite(target)
        if new is None:
            shown = posixpath.normpath(posixpath.join(here, target.partition("#")[0]))
            return text if f"`{shown}`" in text or text.strip("`") == shown else f"{text} (`{shown}`)"
        return f"[{text}]({new})"

    return LINK.sub(replace, markdown)
