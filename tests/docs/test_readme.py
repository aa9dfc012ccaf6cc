"""The README's first screen works as written.

Its Python block is run exactly as shown in a fresh folder; its shape (the two commands first,
the picture it shows exists, at most 150 lines) is checked so it stays a front page.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _text() -> str:
    return README.read_text(encoding="utf-8")


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_is_a_front_page() -> None:
    text = _text()
    lines = text.splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move detail to docs/"
    first_screen = "\n".join(lines[:20])
    assert "make demo" in first_screen and "make test" in first_screen
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        path = ROOT / image
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
    for link in re.findall(r"\]\(((?:docs|notebooks)/[^)#]*)", text):
        assert (ROOT / link).exists(), f"README links to missing {link}"


def test_readme_python_block_runs_as_written(tmp_path: Path) -> None:
    blocks = _python_blocks(_text())
    assert len(blocks) == 1, "the README shows one Python block, run here"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPGUIDE_")}
    done = subprocess.run(
        [sys.executable, "-c", blocks[0]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # the profile card of customer 12347 (a Champion of the bundled Online Retail data)
    assert "12347" in done.stdout
    assert "Iceland" in done.stdout
    assert (tmp_path / "shop.duckdb").is_file()
    # five recommendations for each of the two users, as a table
    rows = [
        line.split()
        for line in done.stdout.splitlines()
        if re.match(r"\s*\d+\s+(12347|17850)\s", line)
    ]
    assert [r[1] for r in rows] == ["12347"] * 5 + ["17850"] * 5
    assert [int(r[2]) for r in rows] == [1, 2, 3, 4, 5] * 2
