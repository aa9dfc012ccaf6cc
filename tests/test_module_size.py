"""One file, one job: no source module grows past 600 lines (split it into a package first)."""

from __future__ import annotations

from pathlib import Path

import shopguide

SOURCE = Path(shopguide.__file__).parent
LIMIT = 600


def test_no_source_module_is_over_600_lines() -> None:
    sizes = {
        path.relative_to(SOURCE).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in SOURCE.rglob("*.py")
    }
    assert len(sizes) > 100  # the package was found and read
    too_long = {name: n for name, n in sizes.items() if n > LIMIT}
    assert not too_long, f"split these modules (lines): {too_long}"
