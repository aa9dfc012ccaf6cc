"""A SHOPGUIDE_* variable with a value that cannot be used: every command names it and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopguide.cli.app import app
from shopguide.store import open_store

runner = CliRunner()


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("SHOPGUIDE_THREADS", "abc", ["SHOPGUIDE_THREADS", "'abc'", "integer"]),
        ("SHOPGUIDE_CHUNK_ROWS", "many", ["SHOPGUIDE_CHUNK_ROWS", "'many'"]),
        ("SHOPGUIDE_MEMORY_LIMIT", "lots", ["SHOPGUIDE_MEMORY_LIMIT", "'lots'", "4GB"]),
        ("SHOPGUIDE_KEEP_VERSIONS", "-3", ["SHOPGUIDE_KEEP_VERSIONS", "'-3'", "1"]),
        ("SHOPGUIDE_THREADS", "0", ["SHOPGUIDE_THREADS", "'0'", "1"]),
    ],
)
def test_a_bad_setting_is_named_with_what_it_takes(
    tmp_path: Path, variable: str, value: str, words: list[str]
) -> None:
    db = tmp_path / "shop.duckdb"
    open_store(db).close()
    result = runner.invoke(
        app, ["stats", "--db", str(db)], env={variable: value, "COLUMNS": "200"},
        catch_exceptions=False,
    )  # fmt: skip
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    for word in words:
        assert word in said, said
    assert "bug" not in said and "Traceback" not in said
    # the store itself was fine: without the variable the same command works
    assert runner.invoke(app, ["stats", "--db", str(db)], catch_exceptions=False).exit_code == 0


def test_a_folder_as_the_store_is_named_as_a_folder(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["stats"], env={"SHOPGUIDE_DB": str(tmp_path), "COLUMNS": "200"},
        catch_exceptions=False,
    )  # fmt: skip
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "is a folder, not a store file" in said and str(tmp_path / "shop.duckdb") in said
