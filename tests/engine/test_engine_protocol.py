"""The engine is chosen once, by name, and both engines implement one protocol.

No Spark work runs here: making a :class:`SparkEngine` or a :class:`SparkJob` starts nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from shopguide.engine.base import Engine
from shopguide.engine.choose import get_engine
from shopguide.engine.local import LocalEngine
from shopguide.engine.spark.engine import SparkEngine
from shopguide.engine.spark.job import KnnOptions, SparkJob
from shopguide.errors import ConfigError


def test_unknown_engine_is_a_config_error_listing_the_engines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="unknown engine 'nope'") as raised:
        get_engine("nope")
    assert raised.value.hint == "use one of: local, spark"
    monkeypatch.setenv("SHOPGUIDE_ENGINE", "hadoop")
    with pytest.raises(ConfigError, match="unknown engine 'hadoop'"):
        get_engine()


def test_both_engines_satisfy_the_protocol() -> None:
    local, spark = get_engine("local"), get_engine("spark", master="local[1]")
    assert isinstance(local, LocalEngine) and isinstance(local, Engine)
    assert isinstance(spark, SparkEngine) and isinstance(spark, Engine)
    assert (local.name, spark.name) == ("local", "spark")

    class OnlyProfiles:  # an object missing four of the five steps is no engine
        name = "partial"

        def profiles(self, store: object, as_of: object = None) -> dict[str, object]:
            return {}

    assert not isinstance(OnlyProfiles(), Engine)


def test_the_name_and_settings_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPGUIDE_ENGINE", "spark")
    engine = get_engine(master="spark://h:7077", mode="broadcast", user_blocks=4, workdir="w")
    assert isinstance(engine, SparkEngine)
    assert (engine.master, engine.mode, engine.user_blocks) == ("spark://h:7077", "broadcast", 4)
    assert engine.workdir == Path("w")
    # the environment is read when an engine is chosen, not again by the steps
    monkeypatch.setenv("SHOPGUIDE_ENGINE", "local")
    assert isinstance(get_engine(), LocalEngine)


def test_settings_an_engine_cannot_honour_are_refused() -> None:
    with pytest.raises(ConfigError, match="exact neighbours only"):
        get_engine("local", mode="dimsum")
    with pytest.raises(ConfigError, match="unknown item-KNN mode 'fast'"):
        get_engine("spark", mode="fast")  # type: ignore[arg-type]


def test_a_spark_job_is_a_frozen_spec_checked_when_made(tmp_path: Path) -> None:
    job = SparkJob("user-knn", str(tmp_path), str(tmp_path / "out"), n=5,  # type: ignore[arg-type]
                   knn=KnnOptions(k=10, user_blocks=3))  # fmt: skip
    assert job.out == tmp_path / "out" / "user-knn" and job.knn.k == 10 and job.als.factors == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.n = 6  # type: ignore[misc]
    with pytest.raises(ConfigError, match="unknown step 'knn'"):
        SparkJob("knn", tmp_path, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown user-KNN mode 'dimsum'"):
        SparkJob("user-knn", tmp_path, tmp_path, knn=KnnOptions(mode="dimsum"))
    assert SparkJob("item-knn", tmp_path, tmp_path, knn=KnnOptions(mode="dimsum")).knn.threshold
