"""The documentation site: it builds with warnings as errors, and every Python example runs.

Each page's ```python blocks run in order in one fresh module, so a page's examples build on one
another; a block that is deliberately not runnable is marked by the line ``<!-- not run -->``
right before its fence, and the test reports how many are.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOT_RUN = "<!-- not run -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)(?P<info>.*)$")


@dataclass(frozen=True)
class Example:
    """One fenced block: its language line, where its code starts, and whether it is run."""

    info: str
    line: int
    code: str
    runnable: bool


def examples(path: Path) -> list[Example]:
    """Every fenced block of a Markdown page, its code dedented by the fence's own indent."""
    found: list[Example] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        previous = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
        start = index + 1
        index = start
        while index < len(lines) and lines[index].strip() != fence:
            index += 1
        body = [line.removeprefix(indent) for line in lines[start:index]]
        found.append(Example(opening["info"].strip(), start + 1, "\n".join(body) + "\n",
                             previous != NOT_RUN))
        index += 1
    return found


def python_examples(path: Path) -> list[Example]:
    return [example for example in examples(path) if example.info.split(" ")[0] == "python"]


PAGES = sorted(path for path in DOCS.rglob("*.md") if python_examples(path))


def test_pages_have_examples_and_few_are_not_run() -> None:
    blocks = [example for page in PAGES for example in python_examples(page)]
    skipped = [example for example in blocks if not example.runnable]
    assert len(PAGES) >= 10, "the guide's pages lost their examples"
    assert len(skipped) * 10 <= len(blocks), f"{len(skipped)} of {len(blocks)} blocks not run"


def test_fences_are_closed() -> None:
    for page in DOCS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        fences = [line for line in text.splitlines() if _FENCE.match(line)]
        assert len(fences) % 2 == 0, f"{page.relative_to(ROOT)} has an unclosed code fence"


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(DOCS)) for page in PAGES])
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's runnable blocks, in order, in one module of their own, from an empty folder."""
    monkeypatch.chdir(tmp_path)
    name = "docs_example_" + re.sub(r"\W", "_", str(page.relative_to(DOCS).with_suffix("")))
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses and pickling look modules up
    for example in python_examples(page):
        if example.runnable:
            source = "\n" * (example.line - 1) + textwrap.dedent(example.code)
            exec(compile(source, str(page), "exec"), module.__dict__)


def exported(source: Path) -> list[str]:
    """The names in a module's ``__all__``, read from its source (importing needs its extras)."""
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return []


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mkdocs build --strict``: a broken link, a missing page or a docstring warning fails."""
    for package in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed: pip install -e '.[docs]' to build the site")
    site_dir = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(site_dir)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    return site_dir


def test_site_builds_strict(built_site: Path) -> None:
    assert (built_site / "index.html").is_file()
    assert (built_site / "tutorial" / "index.html").is_file()


def test_reference_covers_every_public_name(built_site: Path) -> None:
    """Every module of the package, and every name in its ``__all__``, has its reference entry."""
    documented: set[str] = set()
    for page in (built_site / "reference").rglob("index.html"):
        documented |= set(re.findall(r'id="(resourcekit[\w.]*)"', page.read_text(encoding="utf-8")))
    missing = []
    for source in sorted((ROOT / "resourcekit").rglob("*.py")):
        parts = source.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1].startswith("_"):
            continue
        name = ".".join(parts)
        if name == "resourcekit":  # re-exports, documented in the modules that define them
            ends = {d.rsplit(".", 1)[-1] for d in documented}
            missing += [f"{name}.{e}" for e in exported(source) if e not in ends]
            continue
        wanted = [name, *(f"{name}.{e}" for e in exported(source))]
        missing += [n for n in wanted if n not in documented]
    assert not missing, (
        f"not in the API reference: {missing}; add the module to a docs/reference page, and give "
        "the name a docstring or list it in that page's members"
    )
