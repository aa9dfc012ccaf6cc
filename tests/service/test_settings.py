"""Service settings from the environment: a value that cannot be used is named, not dumped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shopguide.errors import ConfigError
from shopguide.service.settings import Role, load_settings

SHOPGUIDE = Path(sys.executable).with_name("shopguide")


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("SHOPGUIDE_API_KEYS", "k3y=admin", ["SHOPGUIDE_API_KEYS", "not JSON", '{"my-secret-key"']),
        ("SHOPGUIDE_API_KEYS", '["k3y"]', ["SHOPGUIDE_API_KEYS", "dictionary"]),
        ("SHOPGUIDE_MAX_BATCH_EVENTS", "many", ["SHOPGUIDE_MAX_BATCH_EVENTS", "'many'", "integer"]),
        ("SHOPGUIDE_MAX_BODY_BYTES", "10", ["SHOPGUIDE_MAX_BODY_BYTES", "1024"]),
    ],
)
def test_an_unusable_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: list[str]
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    said = f"{caught.value.message} {caught.value.hint}"
    for word in words:
        assert word in said, said
    if variable == "SHOPGUIDE_API_KEYS":
        assert "k3y" not in said  # a key is a secret: never repeated in an error


def test_keys_come_from_json_and_an_empty_variable_means_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPGUIDE_API_KEYS", '{"r3ad": "read-only", "adm1n": "admin"}')
    assert load_settings().keys() == {"r3ad": Role.READ, "adm1n": Role.ADMIN}
    monkeypatch.setenv("SHOPGUIDE_API_KEYS", "  ")
    assert load_settings().keys() == {}


def test_serve_says_which_variable_is_wrong_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "SHOPGUIDE_API_KEYS": "secret-one,secret-two"}
    done = subprocess.run(
        [str(SHOPGUIDE), "serve", "--db", str(tmp_path / "shop.duckdb")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "SHOPGUIDE_API_KEYS" in done.stderr and "not JSON" in done.stderr
    assert "Traceback" not in done.stderr and "bug" not in done.stderr
    assert "secret-one" not in done.stderr
