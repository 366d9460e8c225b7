"""docs/architecture.md: its Python API example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_doc_has_an_example() -> None:
    assert _python_blocks(), "docs/architecture.md lost its Python API example"
    assert "discover.run(problem=" not in DOC.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_python_api_example_runs(tmp_path: Path) -> None:
    for block in _python_blocks():
        exec(compile(block, str(DOC), "exec"), {"workdir": tmp_path})  # our own documentation
