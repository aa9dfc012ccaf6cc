"""The serving package keeps no state of its own, and training does without it.

What the churn routes remember between requests belongs to the caller (the service state keeps
one :class:`PredictionCache` per store), not to module-level dictionaries; and the CLI's
``train``/``compare`` publish through :mod:`shopguide.workflows.publishing` without loading the
service's serving code at all.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import pytest

from shopguide.data.datasets.synthetic import generate, load_synthetic
from shopguide.store import open_store
from shopguide.workflows import serving
from shopguide.workflows.serving.predictions import PredictionCache, churn_predictions

#: Types whose module-level instances would be state shared by every caller in the process.
MUTABLE = (dict, list, set, OrderedDict, type(threading.Lock()), type(threading.RLock()))


def test_serving_modules_keep_no_state_of_their_own() -> None:
    found = []
    for info in pkgutil.iter_modules(serving.__path__, prefix=f"{serving.__name__}."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if not name.startswith("__") and isinstance(value, MUTABLE):
                found.append(f"{info.name}.{name}")
    assert found == []


def test_training_and_comparing_load_no_serving_code() -> None:
    code = (
        "import sys\n"
        "import shopguide.cli.models, shopguide.workflows.modelling, "
        "shopguide.workflows.publishing, shopguide.workflows.retention\n"
        "print(sorted(m for m in sys.modules if m.startswith('shopguide.workflows.serving')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def buyers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("buyers") / "shop.duckdb"
    data = generate(n_users=300, n_items=60, n_events=15_000, seed=5, days=200)
    with open_store(db) as store:
        load_synthetic(store, data)
    return db


def test_churn_predictions_remember_through_the_callers_cache(buyers: Path) -> None:
    cache = PredictionCache()
    with open_store(buyers) as store:
        first = churn_predictions(store, cache=cache)  # no rows yet: scored now, then read
        assert not first.stale and len(first.frame) > 0
        assert cache.rows is not None and cache.rows[1] is first.frame
        again = churn_predictions(store, cache=cache)
        assert again.frame is first.frame  # read once per version: the cached frame
        other = churn_predictions(store, cache=PredictionCache())
        assert other.frame is not first.frame  # another cache reads the rows itself
        assert other.frame.equals(first.frame)
        alone = churn_predictions(store)  # no cache given: nothing shared
        assert alone.frame is not first.frame and alone.frame.equals(first.frame)


def test_the_rows_are_read_without_holding_the_store_lock(
    buyers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a version's rows takes seconds at a million users: the store lock, which every
    event batch needs, must not be held meanwhile (only to open a connection of its own)."""
    from shopguide.workflows import retention

    lock = threading.RLock()
    read = retention.predictions
    seen: list[tuple[bool, bool]] = []

    def watched(store, as_of=None):  # type: ignore[no-untyped-def]
        seen.append((lock._is_owned(), store is main))  # type: ignore[attr-defined]
        return read(store, as_of)

    with open_store(buyers) as main:
        churn_predictions(main, lock=lock)  # scores if needed, so rows exist
        monkeypatch.setattr(retention, "predictions", watched)
        shown = churn_predictions(main, lock=lock, cache=PredictionCache())
    assert len(shown.frame) > 0
    assert seen == [(False, False)]  # read once, on another connection, the lock free
