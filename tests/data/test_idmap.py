"""Tests for the frozen external <-> internal id map."""

from __future__ import annotations

import numpy as np
import pytest

from shopguide.data.idmap import IdMap
from shopguide.errors import ModelFormatError, UnknownIdError


def test_from_values_keeps_first_appearance_order_and_dedupes() -> None:
    m = IdMap.from_values(["b", "a", "b", 3], kind="item")
    assert len(m) == 3
    assert m.external_ids.tolist() == ["b", "a", "3"]
    assert m.to_internal(["a", "3", "b"]).tolist() == [1, 2, 0]
    assert m.to_internal(["a"]).dtype == np.int32


def test_round_trip_and_contains() -> None:
    m = IdMap(["u1", "u2", "u3"], kind="user")
    assert m.to_external([2, 0]).tolist() == ["u3", "u1"]
    assert m.to_external(m.to_internal(["u2", "u1"])).tolist() == ["u2", "u1"]
    assert "u2" in m and "zz" not in m
    assert m.to_external([-1, 1]).tolist() == [None, "u2"]


def test_unknown_ids_raise_drop_or_mask() -> None:
    m = IdMap(["a", "b"], kind="user")
    with pytest.raises(UnknownIdError, match="unknown user id"):
        m.to_internal(["a", "x"])
    with pytest.raises(KeyError):  # UnknownIdError is also a KeyError
        m.to_internal(["x"])
    assert m.to_internal(["a", "x", "b"], unknown="drop").tolist() == [0, 1]
    assert m.to_internal(["a", "x"], unknown="mask").tolist() == [0, -1]


def test_out_of_range_index_rejected() -> None:
    with pytest.raises(IndexError):
        IdMap(["a"]).to_external([1])


def test_duplicates_rejected_and_map_is_frozen() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        IdMap(["a", "a"])
    m = IdMap(["a", "b"])
    with pytest.raises(ValueError):
        m.external_ids[0] = "z"


def test_save_load_without_pickle(tmp_path) -> None:
    m = IdMap(["ä-1", "b", "long id with spaces"], kind="item")
    m.save(tmp_path / "items.npz")
    back = IdMap.load(tmp_path / "items.npz")
    assert back == m and back.kind == "item"
    np.load(tmp_path / "items.npz", allow_pickle=False)["ids"]  # plain unicode array
    with pytest.raises(ModelFormatError):
        IdMap.load(tmp_path / "missing.npz")


def test_empty_map_round_trip(tmp_path) -> None:
    m = IdMap([], kind="user")
    assert len(m) == 0
    m.save(tmp_path / "e.npz")
    assert len(IdMap.load(tmp_path / "e.npz")) == 0
