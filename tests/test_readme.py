"""The README's examples that stand alone run as written."""

from __future__ import annotations

from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def _python_blocks(section: str) -> list[str]:
    text = README.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


def test_the_testing_section_runs_as_written() -> None:
    (block,) = _python_blocks("Testing")
    exec(compile(block, "README.md: Testing", "exec"), {})


def test_the_samples_versions_are_declared_as_the_readme_shows() -> None:
    from sample_project.app import VERSIONS

    (block,) = _python_blocks("The sample project")
    scope: dict[str, object] = {}
    exec(compile(block, "README.md: The sample project", "exec"), scope)
    shown = scope["VERSIONS"]
    assert shown.versions == VERSIONS.versions and shown.fallback == VERSIONS.fallback
    assert [(c.version, c.schema, c.renamed) for c in shown.changes] == [
        (c.version, c.schema, c.renamed) for c in VERSIONS.changes
    ]
