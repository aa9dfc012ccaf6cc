"""The next-window experiment's training rows: only the past predicts, only new items are
targets, and the ridge solve is the one the docstring states."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopguide.data.matrix import Interactions
from shopguide.evaluate.tuning import training_matrix

HERE = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(HERE))  # the script imports bench_compare from its own folder
_spec = importlib.util.spec_from_file_location("bench_next_window", HERE / "bench_next_window.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

END = pd.Timestamp("2011-06-30")


def _events(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """(user, item, days before END) purchases."""
    return pd.DataFrame(
        {
            "user_id": [u for u, _, _ in rows],
            "item_id": [i for _, i, _ in rows],
            "event_type": "purchase",
            "timestamp": [END - pd.Timedelta(days=d) for _, _, d in rows],
        }
    )


def _rows(m: sp.csr_matrix, inter: Interactions) -> list[dict[str, float]]:
    """Each row of ``m`` as {item id: value}."""
    items = inter.items.to_external(np.arange(m.shape[1]))
    return [{str(items[j]): float(m[r, j]) for j in m[r].indices} for r in range(m.shape[0])]


def test_one_window_learns_new_items_from_the_history_before_the_cut() -> None:
    events = _events(
        [
            ("a", "x", 100), ("a", "y", 20), ("a", "x", 10),  # x again after the cut: no target
            ("b", "x", 90), ("b", "z", 3),  # bought at the very end: still in the window
            ("c", "y", 80),  # nothing new after the cut: no row
            ("d", "z", 3),  # no history before the cut: no row
        ]
    )  # fmt: skip
    inter = training_matrix(events, {"purchase": 1.0}, binary=True)
    x, y = bench.window_rows(events, inter, horizon_days=30, windows=1, half_life_days=None)
    got = list(zip(_rows(x, inter), _rows(y, inter), strict=True))
    assert sorted(got, key=str) == sorted(
        [({"x": 1.0}, {"y": 1.0}), ({"x": 1.0}, {"z": 1.0})], key=str
    )


def test_history_is_decayed_at_the_cut_and_windows_step_back_30_days() -> None:
    # b's purchase is the last of training, so cuts are counted back from END
    events = _events([("a", "x", 100), ("a", "y", 50), ("a", "z", 5), ("b", "w", 0)])
    inter = training_matrix(events, {"purchase": 1.0}, binary=True)
    x, y = bench.window_rows(events, inter, horizon_days=30, windows=2, half_life_days=10.0)
    rows = list(zip(_rows(x, inter), _rows(y, inter), strict=True))
    # window 1: cut 30 days before the end, z is new; window 2: cut 60 days before, y is new
    assert rows[0][1] == {"z": 1.0} and rows[1][1] == {"y": 1.0}
    assert rows[0][0] == pytest.approx({"x": 0.5**7, "y": 0.5**2})
    assert rows[1][0] == pytest.approx({"x": 0.5**4})


def test_nothing_inside_any_window_is_a_clear_error() -> None:
    events = _events([("a", "x", 100), ("a", "y", 90)])
    inter = training_matrix(events, {"purchase": 1.0}, binary=True)
    with pytest.raises(ValueError, match="no window"):
        bench.window_rows(events, inter, horizon_days=30, windows=1, half_life_days=None)


def test_weights_solve_the_ridge_objective() -> None:
    rng = np.random.default_rng(0)
    x = sp.csr_matrix(rng.random((40, 6)) < 0.3, dtype=np.float64)
    y = sp.csr_matrix(rng.random((40, 6)) < 0.2, dtype=np.float64)
    lam = 3.0
    w = bench.next_window_weights(x, y, lam)
    # the ridge problem as one least-squares system: [X; √λ I] W = [Y; 0]
    stacked = np.vstack([x.toarray(), np.sqrt(lam) * np.eye(6)])
    target = np.vstack([y.toarray(), np.zeros((6, 6))])
    expected = np.linalg.lstsq(stacked, target, rcond=None)[0]
    np.testing.assert_allclose(w, expected, atol=1e-10)
