"""The public Python API is the CLI's library: same figures, lazily imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import discover


def test_import_is_cheap() -> None:
    code = ("import sys, discover; "
            "print(sorted(m for m in ('numpy', 'ortools', 'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_baselines_matches_paper_on_a_slice(tmp_path: Path, smtt_paper_dir: Path) -> None:
    data = json.loads((smtt_paper_dir / "n20_uniform.json").read_text())
    path = tmp_path / "slice.json"
    path.write_text(json.dumps(data[:40]))
    report = discover.baselines("smtt", str(path), methods=["mdd", "edd"])
    by_name = {s.method: s for s in report.summaries}
    assert by_name["mdd"].instances == 40
    mdd, edd = by_name["mdd"].mean_gap, by_name["edd"].mean_gap
    assert mdd is not None and edd is not None and mdd < edd


def test_open_archive_creates_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with discover.open_archive(url) as archive:
        assert archive.runs() == []
    assert (tmp_path / "a.sqlite").is_file()
