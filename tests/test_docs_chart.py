"""The README's chart is the project's own: `docs/make_chart.py` draws it with the history
store and the code of `opsbot history --png`, and the README shows the file it writes."""

from __future__ import annotations

import importlib.util
import re
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_readme_shows_the_chart_in_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"!\[[^\]]+\]\(([^)]+\.png)\)", readme) == ["docs/capacity.png"]
    assert png_size((ROOT / "docs" / "capacity.png").read_bytes()) == (1000, 500)
    assert "`docs/make_chart.py`" in readme


async def test_make_chart_draws_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("make_chart", ROOT / "docs" / "make_chart.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "capacity.png"
    monkeypatch.setattr(module, "OUT", out)  # (not over the committed one)
    assert await module.main() == 0
    assert png_size(out.read_bytes()) == (1000, 500)
