"""Every file the service serves from the package (the dashboard and the vendored Swagger UI)
is covered by the ``package-data`` globs of ``pyproject.toml``, so an installed wheel serves the
same pages as a source checkout. (setuptools copies only ``.py`` files and those globs.)"""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "shopguide"
SERVED = [PACKAGE / "dashboard" / "static", PACKAGE / "service" / "static"]


def _covered() -> set[Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"].get("package-data", {}).get("shopguide", [])
    found: set[Path] = set()
    for pattern in patterns:
        found.update(
            (PACKAGE / p).resolve() for p in glob.glob(pattern, root_dir=PACKAGE, recursive=True)
        )
    return found


def test_served_static_files_are_package_data() -> None:
    files = {p.resolve() for folder in SERVED for p in folder.rglob("*") if p.is_file()}
    assert any(p.name == "swagger-ui-bundle.js" for p in files)
    assert any(p.name == "index.html" for p in files)
    missing = sorted(str(p.relative_to(PACKAGE)) for p in files - _covered())
    assert not missing, f"not in the wheel: {missing}"
