"""The profile-version commands of the ``shopguide`` CLI, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shopguide.cli.app import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_list_and_drop_profile_versions(tmp_path: Path) -> None:
    db = str(tmp_path / "sg.duckdb")
    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,item_id,event_type,timestamp,price\n"
        "c1,s1,purchase,2024-05-01 12:00,3.5\n"
        "c2,s1,purchase,2024-05-03 09:00,3.5\n"
        "c1,s2,view,2024-05-04 10:00,\n"
    )
    assert run("ingest", "events", str(events), "--db", db)[0] == 0
    for as_of in ("2024-05-02", "2024-05-03 12:00"):
        code, output = run("profiles", "build", "--as-of", as_of, "--db", db)
        assert code == 0, output
    assert run("profiles", "build", "--db", db)[0] == 0  # as of the last event

    code, output = run("profiles", "versions", "--db", db, "--json")
    assert code == 0, output
    listed = json.loads(output)
    assert [v["as_of"][:16] for v in listed] == ["2024-05-04T10:00", "2024-05-03T12:00",
                                                  "2024-05-02T00:00"]  # fmt: skip
    assert [v["users"] for v in listed] == [2, 2, 1]
    assert {v["kind"] for v in listed} == {"snapshot"}
    code, output = run("profiles", "versions", "--db", db)
    assert code == 0 and "snapshot" in output and "2024-05-02" in output

    code, output = run("profiles", "drop", "2024-05-02", "--db", db, "--json")
    assert code == 0, output
    assert json.loads(output)["dropped"] == ["2024-05-02T00:00:00"]
    code, output = run("profiles", "drop", "--keep-latest", "1", "--db", db)
    assert code == 0 and "dropped 1 profile version(s); 1 left" in output
    code, output = run("profile", "c1", "--as-of", "2024-05-03 12:00", "--db", db)
    assert code == 2 and "profiles build --as-of" in output  # gone, and how to get it back

    code, output = run("profiles", "drop", "1999-01-01", "--db", db)
    assert code == 2 and "stored versions: 2024-05-04 10:00:00" in output
    code, output = run("profiles", "drop", "--db", db)
    assert code == 2 and "--keep-latest" in output


def test_refresh_measures_the_live_versions_population_again(tmp_path: Path) -> None:
    from shopguide.store import open_store
    from shopguide.workflows.serving.live_ingest import ingest_events

    db = str(tmp_path / "sg.duckdb")
    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,item_id,event_type,timestamp,price\n"
        "c1,s1,purchase,2024-05-01 12:00,3.5\n"
        "c2,s1,purchase,2024-05-03 09:00,3.5\n"
    )
    assert run("ingest", "events", str(events), "--db", db)[0] == 0
    assert run("profiles", "build", "--db", db)[0] == 0
    code, output = run("profiles", "refresh", "--db", db)
    assert code == 0 and "nothing to refresh: no live profile version" in output

    with open_store(db) as store:  # two API batches: the live version, then one in place
        for hour, order in ((10, "a"), (11, "b")):
            batch = [{"event_id": order, "user_id": "c1", "item_id": "s1",
                      "event_type": "purchase", "timestamp": f"2024-05-04 {hour}:00",
                      "price": 3.5, "order_id": order}]  # fmt: skip
            assert ingest_events(store, batch).profiles_updated == 1
    code, output = run("profile", "c1", "--db", db)
    assert code == 0 and "Population statistics as of 2024-05-04 10:00" in output, output

    code, output = run("profiles", "refresh", "--db", db, "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["refreshed"] and result["users"] == 2
    assert result["as_of"] == result["population_as_of"] == "2024-05-04T11:00:00"
    assert result["previous_as_of"] == "2024-05-04T10:00:00"
    code, output = run("profile", "c1", "--db", db, "--json")
    assert json.loads(output)["population_as_of"] == "2024-05-04T11:00:00"
    assert json.loads(output)["behaviour"]["orders"] == 3


def test_refresh_on_a_store_without_profiles_says_there_is_nothing_to_refresh(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "shop.duckdb")
    assert runner.invoke(app, ["init", "--db", db]).exit_code == 0
    result = runner.invoke(app, ["profiles", "refresh", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["refreshed"] is False and "no live profile version" in answer["reason"]
    printed = runner.invoke(app, ["profiles", "refresh", "--db", db])
    assert printed.exit_code == 0 and "nothing to refresh" in printed.output
