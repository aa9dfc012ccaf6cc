"""The data commands of the ``shopguide`` CLI, run as a user would."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from shopguide.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def events_file(folder: Path) -> Path:
    path = folder / "shop.csv"
    path.write_text(
        "Customer,SKU,Action,When\n"
        "c1,s1,purchase,2024-05-01 12:00\n"
        "c2,s1,view,2024-05-02\n"
        "c3,,view,2024-05-02\n"
    )
    return path


def test_ingest_with_mapping_then_stats_and_quarantine_as_json(tmp_path):
    db = str(tmp_path / "sg.duckdb")
    maps = ["--map", "Customer=user_id", "--map", "SKU=item_id"]
    maps += ["--map", "Action=event_type", "--map", "When=timestamp"]
    code, output = run("ingest", "events", str(events_file(tmp_path)), *maps, "--db", db, "--json")
    assert code == 0, output
    report = json.loads(output)
    assert (report["accepted"], report["rejected"], report["rows_read"]) == (2, 1, 3)

    code, output = run("stats", "--db", db, "--json")
    stats = json.loads(output)
    assert stats["rows"]["events"] == 2
    assert stats["events_by_type"] == {"purchase": 1, "view": 1}

    code, output = run("quarantine", "--db", db, "--json")
    rows = json.loads(output)
    assert [(r["line"], r["column_name"]) for r in rows] == [(4, "item_id")]

    out_file = tmp_path / "rejects.csv"
    code, output = run("quarantine", "--db", db, "--export", str(out_file))
    assert code == 0
    assert pd.read_csv(out_file)["line"].tolist() == [4]


def test_errors_are_clear_and_exit_with_status_2(tmp_path):
    db = str(tmp_path / "sg.duckdb")
    code, output = run("ingest", "events", str(events_file(tmp_path)), "--db", db, "--json")
    assert code == 2
    error = json.loads(output)
    assert error["type"] == "MissingColumnsError"
    assert "--map" in error["hint"]
    code, output = run("ingest", "events", str(tmp_path / "nope.csv"), "--db", db)
    assert code == 2
    assert "no such file" in output


def test_a_truncated_gzip_file_exits_2_with_one_message_and_changes_nothing(tmp_path):
    db = str(tmp_path / "sg.duckdb")
    header = "event_id,user_id,item_id,event_type,timestamp\n"
    good = tmp_path / "good.csv"
    good.write_text(header + "e1,u1,i1,view,2024-05-01\n")
    assert run("ingest", "events", str(good), "--db", db)[0] == 0
    rows = "".join(f"t{i},u{i},i1,view,2024-05-01\n" for i in range(5000))
    data = gzip.compress((header + rows).encode())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) // 2])

    code, output = run("ingest", "events", str(cut), "--db", db, "--chunk-rows", "100")
    assert code == 2, output
    assert f"cannot read {cut}: the file ends early or is damaged" in output
    assert "gzip -t" in output
    assert "Aborted" not in output and "Traceback" not in output
    code, output = run("ingest", "events", str(cut), "--db", db, "--json")
    assert (code, json.loads(output)["type"]) == (2, "FileReadError")

    stats = json.loads(run("stats", "--db", db, "--json")[1])
    assert stats["rows"]["events"] == 1
    assert stats["rows"]["quarantine"] == 0


def test_installed_script_runs_init_with_env_default_db(tmp_path):
    env_db = tmp_path / "from-env.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "shopguide", "init", "--json"],
        capture_output=True,
        text=True,
        env={"SHOPGUIDE_DB": str(env_db), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert json.loads(proc.stdout)["db"] == str(env_db.resolve())
    assert env_db.exists()


def test_a_failed_first_ingest_leaves_no_store_file_or_folder(tmp_path):
    junk = tmp_path / "inputs" / "junk.parquet"
    junk.parent.mkdir()
    junk.write_bytes(b"not parquet at all" * 50)
    no_columns = tmp_path / "inputs" / "plain.csv"
    no_columns.write_text("a,b\n1,2\n")
    missing = tmp_path / "inputs" / "nope.csv"
    for source in (junk, no_columns, missing):
        db = tmp_path / "new" / "deeper" / "sg.duckdb"
        code, output = run("ingest", "events", str(source), "--db", str(db))
        assert code == 2, output
        assert not (tmp_path / "new").exists(), source  # no .duckdb, no .wal, no folders
    beside = tmp_path / "s.duckdb"  # a new store in a folder that exists
    code, _ = run("ingest", "events", str(events_file(tmp_path)), "--db", str(beside))
    assert code == 2 and not beside.exists() and not Path(f"{beside}.wal").exists()
    # a store that existed before a failed load stays, unchanged
    kept = tmp_path / "kept.duckdb"
    assert run("init", "--db", str(kept))[0] == 0
    assert run("ingest", "events", str(no_columns), "--db", str(kept))[0] == 2
    code, output = run("stats", "--db", str(kept), "--json")
    assert code == 0 and json.loads(output)["rows"]["events"] == 0


def test_reading_commands_never_create_a_store(tmp_path):
    for args in (["stats"], ["profile", "1"], ["quarantine"], ["segments"]):
        db = tmp_path / "missing-dir" / "x.duckdb"
        code, output = run(*args, "--db", str(db))
        assert code == 2, (args, output)
        assert f"no store at {db}" in output and "shopguide init --db" in output
        assert not db.parent.exists()
