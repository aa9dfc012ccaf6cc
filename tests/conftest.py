"""What every test directory shares: one headless chromium per test process.

Playwright's sync API allows one running instance per thread, so the report tests and the
dashboard tests, which xdist may run in the same worker, start the browser here once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from browser_setup import ARGS, CHROMIUM, check_chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    check_chromium()
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()
