"""Time-decayed 0/1 input: each pair valued by the recency of its latest event."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopguide.data.matrix import build_interactions
from shopguide.data.recency import MIN_VALUE, decayed_binary
from shopguide.evaluate.tuning import training_matrix

END = pd.Timestamp("2024-03-31")


def _events(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """(user, item, days before END) purchases."""
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "item_id": [r[1] for r in rows],
            "event_type": "purchase",
            "timestamp": [END - pd.Timedelta(days=r[2]) for r in rows],
        }
    )


def test_the_latest_event_of_a_pair_sets_its_value() -> None:
    events = _events([("u", "a", 0), ("u", "b", 30), ("u", "b", 90), ("v", "a", 60)])
    inter = training_matrix(events, {"purchase": 1.0}, binary=True, half_life_days=30.0)
    value = {
        (u, i): inter.matrix[inter.users.to_internal([u])[0], inter.items.to_internal([i])[0]]
        for u, i in [("u", "a"), ("u", "b"), ("v", "a")]
    }
    assert value[("u", "a")] == pytest.approx(1.0)  # bought on the last day
    assert value[("u", "b")] == pytest.approx(0.5)  # latest of 30 and 90 days: one half-life
    assert value[("v", "a")] == pytest.approx(0.25)  # two half-lives
    plain = training_matrix(events, {"purchase": 1.0}, binary=True)
    assert set(zip(*plain.matrix.nonzero(), strict=True)) == set(
        zip(*inter.matrix.nonzero(), strict=True)
    )


def test_weighted_input_decays_every_event() -> None:
    events = _events([("u", "a", 0), ("u", "a", 30)])
    inter = training_matrix(events, {"purchase": 2.0}, half_life_days=30.0)
    assert inter.matrix[0, 0] == pytest.approx(2.0 + 1.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("uvw"), st.sampled_from("abcd"), st.integers(0, 400)),
        min_size=1,
        max_size=30,
    ),
    st.floats(min_value=1.0, max_value=365.0),
)
def test_values_are_in_zero_one_and_follow_the_youngest_event(
    rows: list[tuple[str, str, int]], half_life: float
) -> None:
    events = _events(rows)
    inter = build_interactions(events, {"purchase": 1.0})
    out = decayed_binary(inter, events, half_life, now=END)
    assert (out.matrix.data > 0).all() and (out.matrix.data <= 1).all()
    for (u, i), group in pd.DataFrame(rows, columns=["u", "i", "d"]).groupby(["u", "i"]):
        r, c = inter.users.to_internal([u])[0], inter.items.to_internal([i])[0]
        expected = max(0.5 ** (group["d"].min() / half_life), MIN_VALUE)
        assert np.isclose(out.matrix[r, c], expected, rtol=1e-5)
