"""Debian's chromium, as every browser test starts it (Playwright cannot download browsers
here, so it is pointed at the system's)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def check_chromium() -> None:
    """Fail (never skip) when the browser the tests need is missing."""
    assert Path(CHROMIUM).exists(), "chromium is missing: apt-get install -y chromium"
