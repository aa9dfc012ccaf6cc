"""Models state their cost; the budget check adapts or skips what would not fit."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from shopguide.errors import ConfigError, InputError
from shopguide.recommend import EASE, EASELarge, create_model
from shopguide.recommend.catalogue import MODEL_NAMES
from shopguide.recommend.cost import parse_bytes, plan_fit


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_states_a_cost_that_grows_with_the_data(name: str) -> None:
    model = create_model(name)
    small = model.estimate_cost(1_000, 1_000, 10_000)  # type: ignore[attr-defined]
    large = model.estimate_cost(100_000, 100_000, 1_000_000)  # type: ignore[attr-defined]
    assert 0 < small.memory_bytes < large.memory_bytes
    assert 0 < small.seconds < large.seconds
    assert small.notes


def test_dense_ease_cost_is_quadratic_in_items() -> None:
    cost = EASE().estimate_cost(10_000, 100_000, 1_000_000)
    assert cost.memory_bytes >= 16 * 100_000**2  # 160 GB: the float64 Gram (inverted in place)
    assert cost.memory_bytes < 40 * 100_000**2


def test_a_small_budget_adapts_ease_to_ease_large_that_fits(
    random_matrix: Callable[..., sp.csr_matrix],
) -> None:
    x = random_matrix(300, 1_500, 8)
    budget = 20_000_000  # dense EASE on 1,500 items needs ~27 MB
    plan = plan_fit(EASE(regularization=50.0), *x.shape, x.nnz, budget)
    assert plan.action == "adapted"
    assert isinstance(plan.model, EASELarge)
    assert plan.cost.memory_bytes <= budget < plan.original_cost.memory_bytes  # type: ignore[union-attr]
    assert "budget 20.0 MB" in plan.message and "ease-large" in plan.message
    assert plan.model.regularization == 50.0
    ids, _ = plan.model.fit(x).recommend(np.arange(5), x, n=5)
    assert (ids >= 0).all()


def test_a_model_without_a_cheaper_variant_is_skipped_with_the_reason() -> None:
    plan = plan_fit(create_model("item-knn"), 50_000, 200_000, 5_000_000, 10_000_000)
    assert plan.action == "skipped" and plan.model is None
    assert "item-knn would need about" in plan.message
    assert "budget 10.0 MB" in plan.message and "--memory-budget" in plan.message


def test_within_the_budget_a_model_is_fitted_as_it_is() -> None:
    model = EASE()
    plan = plan_fit(model, 300, 1_500, 2_400, 10**10)
    assert plan.action == "fit" and plan.model is model and not plan.message


def test_dense_ease_past_its_size_limit_is_adapted_whatever_the_budget() -> None:
    plan = plan_fit(EASE(), 2_000, 25_000, 60_000, 10**12)
    assert plan.action == "adapted" and plan.model.model_name == "ease-large"
    assert "size limit" in plan.message
    dense = plan_fit(EASE(max_items=30_000), 2_000, 25_000, 60_000, 10**12)
    assert dense.action == "fit"  # a raised max_items asks for the dense solve


_PEAK_SCRIPT = """
import resource, sys
import numpy as np
sys.path.insert(0, {tests!r})
from conftest import power_law_matrix
from shopguide.recommend import EASE
x = power_law_matrix(3000, {items}, 20, seed={items})
model = EASE(regularization=100.0)
estimate = model.estimate_cost(*x.shape, x.nnz).memory_bytes
np.linalg.inv(np.eye(256) * 2) @ np.ones((256, 256))  # BLAS threads' buffers exist before
with open("/proc/self/statm") as f:
    before = int(f.read().split()[1]) * resource.getpagesize()
model.fit(x)
# VmHWM, the peak of this process image: ru_maxrss would carry over the forking parent's peak
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
print(estimate, peak - before)
"""


@pytest.mark.parametrize("items", [2000, 3000, 3500])
def test_ease_memory_estimate_is_within_two_of_the_measured_peak(items: int) -> None:
    # a fresh process: the peak resident set counts LAPACK's and numpy's own buffers, which
    # tracemalloc does not see
    script = _PEAK_SCRIPT.format(tests=str(Path(__file__).parent), items=items)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    estimate, peak = (int(v) for v in done.stdout.split())
    assert estimate / 2 <= peak <= estimate * 2, (estimate, peak)


@given(
    st.integers(min_value=1, max_value=10**6),
    st.sampled_from([("", 1), ("B", 1), ("KB", 10**3), ("MB", 10**6), ("GB", 10**9),
                     ("GiB", 2**30), ("m", 10**6), ("k", 10**3)]),
)  # fmt: skip
def test_parse_bytes_reads_sizes(number: int, unit: tuple[str, int]) -> None:
    suffix, scale = unit
    assert parse_bytes(f"{number}{suffix}") == number * scale
    assert parse_bytes(f" {number} {suffix} ") == number * scale


@given(st.text(alphabet="abcxyz-_ ,;", min_size=1, max_size=8))
def test_parse_bytes_rejects_what_is_not_a_size(text: str) -> None:
    with pytest.raises(InputError, match="memory budget"):
        parse_bytes(text)


def test_parse_bytes_share_of_the_machine_and_bad_values() -> None:
    assert 0 < parse_bytes("10%") < parse_bytes("20%")
    for bad in ("0", "0%", "150%", "-1GB"):
        with pytest.raises(InputError):
            parse_bytes(bad)


def test_the_setting_sets_the_default_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPGUIDE_MEMORY_BUDGET", "1MB")
    plan = plan_fit(EASE(), 300, 1_500, 2_400)
    assert plan.budget_bytes == 10**6 and plan.action != "fit"
    monkeypatch.setenv("SHOPGUIDE_MEMORY_BUDGET", "lots")
    with pytest.raises(ConfigError, match="SHOPGUIDE_MEMORY_BUDGET"):
        plan_fit(EASE(), 300, 1_500, 2_400)
