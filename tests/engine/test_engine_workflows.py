"""Engine choice: the same workflow step gives the same output on both engines; the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import typer
from spark_testdata import RULES, ShopData, assert_same_ranking, load_frames
from typer.testing import CliRunner, Result

from shopguide.cli.engine import register
from shopguide.data.matrix import build_interactions
from shopguide.engine import export_store, parquet_layout
from shopguide.errors import ConfigError, DataError
from shopguide.recommend.knn import UserKNN
from shopguide.workflows.engine import (
    KnnOptions,
    SparkJob,
    item_knn_step,
    resolve_engine,
    resolve_master,
    spark_job,
    user_knn_step,
)


def _cli(*args: str) -> Result:
    """Run the ``spark`` / ``engine`` commands as the ``shopguide`` app registers them."""
    app = typer.Typer()
    register(app)
    return CliRunner().invoke(app, list(args))


def _lists(frame: Any) -> dict[str, list[tuple[str, float]]]:
    return {
        user: list(
            zip(g.sort_values("rank")["item_id"], g.sort_values("rank")["score"], strict=True)
        )
        for user, g in frame.groupby("user_id")
    }


def test_engine_setting_and_validation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHOPGUIDE_ENGINE", raising=False)
    assert resolve_engine() == "local"
    monkeypatch.setenv("SHOPGUIDE_ENGINE", "spark")
    assert resolve_engine() == "spark" and resolve_engine("local") == "local"
    with pytest.raises(ConfigError, match="unknown engine"):
        resolve_engine("hadoop")
    monkeypatch.setenv("SHOPGUIDE_SPARK_MASTER", "spark://h:7077")
    assert resolve_master() == "spark://h:7077" and resolve_master("local[4]") == "local[4]"
    with pytest.raises(DataError, match="no events"):
        parquet_layout(tmp_path)


def test_export_partitions_events_by_day(shop: ShopData, tmp_path: Path) -> None:
    layout = export_store(shop.store, tmp_path / "x")
    days = sorted(p.name for p in layout.events.iterdir())
    assert days[0].startswith("event_date=2024-01-")
    rows = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{layout.events}/**/*.parquet', "
        "hive_partitioning = true)"
    ).fetchall()
    assert rows[0][0] == shop.store.count("events")


def test_item_knn_step_gives_the_same_lists_on_both_engines(spark: Any, shop: ShopData) -> None:
    local = item_knn_step(shop.store, k=10, n=5, engine="local")
    remote = item_knn_step(shop.store, k=10, n=5, engine="spark")
    assert list(remote.columns) == list(local.columns) == ["user_id", "rank", "item_id", "score"]
    want, got = _lists(local), _lists(remote)
    assert set(got) == set(want)
    for user, ranked in want.items():
        assert_same_ranking(user, got[user], ranked)


def test_broadcast_item_knn_with_rules_is_identical_on_both_engines(
    spark: Any, shop: ShopData, tmp_path: Path
) -> None:
    """``mode="broadcast"`` (the local kernels in Spark tasks) with business rules: the same
    rows, ranks, items and float32 scores as the local engine, from the step and from the
    ``shopguide spark item-knn --mode broadcast`` job; an unknown mode is refused."""
    local = item_knn_step(shop.store, k=10, n=5, rules=RULES, engine="local")
    remote = item_knn_step(shop.store, k=10, n=5, rules=RULES, engine="spark", mode="broadcast")
    assert len(local) > 100
    pd.testing.assert_frame_equal(remote, local, check_dtype=False)

    summary = spark_job(
        SparkJob("item-knn", shop.parquet, tmp_path, n=5, knn=KnnOptions(k=10, mode="broadcast"))
    )
    out = Path(summary["out"])
    written = duckdb.sql(
        "SELECT user_id, rank, item_id, score "
        f"FROM read_parquet('{out}/recommendations/*.parquet') ORDER BY user_id, rank"
    ).df()
    plain = item_knn_step(shop.store, k=10, n=5, engine="local")
    pd.testing.assert_frame_equal(written, plain, check_dtype=False)
    [(count, deepest)] = duckdb.sql(
        f"SELECT count(*), max(rank) FROM read_parquet('{out}/neighbours/*.parquet')"
    ).fetchall()
    assert count > 0 and deepest == 10
    with pytest.raises(ConfigError, match="unknown item-KNN mode"):
        item_knn_step(shop.store, engine="spark", mode="fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="exact neighbours only"):
        item_knn_step(shop.store, engine="local", mode="dimsum")


def test_cli_spark_item_knn_writes_parquet_blockwise(
    spark: Any, shop: ShopData, tmp_path: Path
) -> None:
    result = _cli("spark", "item-knn", "--events", str(shop.parquet), "--out", str(tmp_path),
                  "--k", "10", "--n", "5", "--user-blocks", "2", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    recs = duckdb.sql(
        f"SELECT * FROM read_parquet('{tmp_path}/item-knn/recommendations/*.parquet')"
    ).df()
    local = item_knn_step(shop.store, k=10, n=5, engine="local")
    want, got = _lists(local), _lists(recs)
    assert set(got) == set(want)
    for user, ranked in want.items():
        assert_same_ranking(user, got[user], ranked)
    neighbours = tmp_path / "item-knn" / "neighbours"
    assert any(neighbours.glob("*.parquet"))


def test_user_knn_with_rules_is_identical_on_both_engines(spark: Any, shop: ShopData) -> None:
    """``user_knn_step(engine=...)`` with business rules, Spark in two user blocks: the same
    rows, ranks, items and float32 scores."""
    local = user_knn_step(shop.store, k=10, n=5, rules=RULES, engine="local")
    remote = user_knn_step(shop.store, k=10, n=5, rules=RULES, engine="spark", user_blocks=2)
    assert len(local) > 100
    pd.testing.assert_frame_equal(remote, local, check_dtype=False)


def test_spark_job_user_knn_writes_the_local_neighbours_and_lists(
    spark: Any, shop: ShopData, tmp_path: Path
) -> None:
    """Parquet in, Parquet out in three user blocks: neighbours (id, float32 similarity) and
    top-N lists equal the local UserKNN's exactly."""
    job = SparkJob("user-knn", shop.parquet, tmp_path, n=5, knn=KnnOptions(k=10, user_blocks=3))
    summary = spark_job(job)
    folder = Path(summary["out"])
    got_neighbours = duckdb.sql(
        "SELECT user_id, neighbour_id, sim, rank "
        f"FROM read_parquet('{folder}/neighbours/*.parquet') ORDER BY user_id, rank"
    ).df()
    got_recs = duckdb.sql(
        f"SELECT * FROM read_parquet('{folder}/recommendations/*.parquet') ORDER BY user_id, rank"
    ).df()

    events = shop.store.query_df('SELECT user_id, item_id, event_type, "timestamp" FROM events')
    inter = build_interactions(events)
    model = UserKNN(k=10).fit(inter.matrix)
    users, items = inter.users.external_ids, inter.items.external_ids
    hood = model.neighbours_
    rows = []
    for u in range(hood.shape[0]):
        lo, hi = hood.indptr[u], hood.indptr[u + 1]
        order = np.lexsort((hood.indices[lo:hi], -hood.data[lo:hi]))
        rows += [(users[u], users[hood.indices[lo + p]], float(hood.data[lo + p]), r + 1)
                 for r, p in enumerate(order)]  # fmt: skip
    want_neighbours = pd.DataFrame(rows, columns=["user_id", "neighbour_id", "sim", "rank"])
    pd.testing.assert_frame_equal(got_neighbours, want_neighbours, check_dtype=False)

    local = user_knn_step(shop.store, k=10, n=5, engine="local")
    # the events after AS_OF are in both: spark_job's default as_of is the latest event
    assert set(local["item_id"]) <= set(items)
    pd.testing.assert_frame_equal(got_recs, local, check_dtype=False)


@pytest.mark.parametrize(
    ("command", "step"), [("user-knn", user_knn_step), ("item-knn", item_knn_step)]
)
def test_cli_engine_knn_local_writes_what_the_step_returns(
    tmp_path: Path, command: str, step: Any
) -> None:
    """``shopguide engine user-knn|item-knn --engine local --out F --json``: the file holds
    the rows of the workflow step and the JSON counts them."""
    from shopguide.data.datasets.synthetic import generate
    from shopguide.store import open_store

    db = tmp_path / "shop.duckdb"
    store = open_store(db)
    load_frames(store, generate(n_users=120, n_items=40, n_events=2_000, seed=3))
    want = step(store, k=8, n=4, engine="local")
    store.close()
    out_file = tmp_path / "recs.parquet"
    args = ["engine", command, "--db", str(db), "--engine", "local", "--k", "8", "--n", "4"]
    result = _cli(*args, "--out", str(out_file), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    got = pd.read_parquet(out_file)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert summary["rows"] == len(want) > 100
    assert summary["users"] == want["user_id"].nunique()


def test_broadcast_user_knn_with_rules_is_identical_on_both_engines(
    spark: Any, shop: ShopData, tmp_path: Path
) -> None:
    """``user_knn_step(mode="broadcast")`` with rules equals the local step row for row;
    ``shopguide spark user-knn --mode broadcast`` writes the local lists and K neighbours;
    user-KNN has no DIMSUM mode."""
    local = user_knn_step(shop.store, k=10, n=5, rules=RULES, engine="local")
    remote = user_knn_step(shop.store, k=10, n=5, rules=RULES, engine="spark", mode="broadcast")
    pd.testing.assert_frame_equal(remote, local, check_dtype=False)
    args = ["spark", "user-knn", "--events", str(shop.parquet), "--out", str(tmp_path)]
    result = _cli(*args, "--k", "10", "--n", "5", "--mode", "broadcast")
    assert result.exit_code == 0, result.output
    written = duckdb.sql(
        "SELECT user_id, rank, item_id, score "
        f"FROM read_parquet('{tmp_path}/user-knn/recommendations/*.parquet') ORDER BY user_id, rank"
    ).df()
    plain = user_knn_step(shop.store, k=10, n=5, engine="local")
    pd.testing.assert_frame_equal(written, plain, check_dtype=False)
    [(deepest,)] = duckdb.sql(
        f"SELECT max(rank) FROM read_parquet('{tmp_path}/user-knn/neighbours/*.parquet')"
    ).fetchall()
    assert deepest == 10
    with pytest.raises(ConfigError, match="unknown user-KNN mode"):
        user_knn_step(shop.store, engine="spark", mode="dimsum")


def test_cli_spark_user_knn_writes_the_local_lists(
    spark: Any, shop: ShopData, tmp_path: Path
) -> None:
    args = ["spark", "user-knn", "--events", str(shop.parquet), "--out", str(tmp_path)]
    result = _cli(*args, "--k", "10", "--n", "5", "--user-blocks", "2")
    assert result.exit_code == 0, result.output
    recs = duckdb.sql(
        f"SELECT * FROM read_parquet('{tmp_path}/user-knn/recommendations/*.parquet')"
    ).df()
    local = user_knn_step(shop.store, k=10, n=5, engine="local")
    want, got = _lists(local), _lists(recs)
    assert set(got) == set(want)
    for user, ranked in want.items():
        assert_same_ranking(user, got[user], ranked)
