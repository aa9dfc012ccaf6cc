"""Erasing and exporting a user through ``shopguide erase`` / ``export-user`` on real stores.

The big test builds a store where the user is everywhere the project copies a user id (events,
user row, profiles, churn predictions, a saved audience, campaign contacts, quarantined rows
from a file and from the API, two published model versions), erases them with the CLI, then
looks for the id in every text column of every table, in the bytes of every model file and of
the store file, and checks that every other user's rows are all still there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any, cast

import duckdb
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from shopguide.cli import privacy as privacy_cli
from shopguide.data.datasets.synthetic import generate
from shopguide.data.ingest import ingest_file, ingest_frame
from shopguide.errors import UnknownIdError
from shopguide.profiles import build_profiles
from shopguide.recommend import RecommenderStore
from shopguide.store import open_store
from shopguide.store.base import Store
from shopguide.store.schema import MIGRATIONS
from shopguide.targeting.campaign import Campaign
from shopguide.workflows.audiences import load_audience, save_audience
from shopguide.workflows.campaigns import build_audience, campaign_audience
from shopguide.workflows.privacy import erase_user, export_user, tombstone
from shopguide.workflows.publishing import train_and_publish
from shopguide.workflows.retention import score_store
from shopguide.workflows.serving.live_ingest import ingest_events
from shopguide.workflows.serving.snapshot import build_snapshot

#: The erased user: non-ASCII, so JSON writers escape it (``\u00e9``) in raw rows.
VICTIM = "zq-élève-7"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test app"""

    privacy_cli.register(app)
    return app


def _forms(user_id: str) -> list[bytes]:
    """Every byte form the id may take in a file: UTF-8, UTF-16/32 (numpy unicode arrays)
    and JSON's ASCII escapes."""
    escaped = json.dumps(user_id).strip('"').encode("ascii")
    return [user_id.encode(enc) for enc in ("utf-8", "utf-16-le", "utf-32-le")] + [escaped]


def _contents(path: Path) -> bytes:
    """A file's bytes, and for a zip archive (``.npz``, ``.skops``) also its members' bytes
    decompressed, so a compressed copy of the id is found too."""
    content = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            content += b"".join(archive.read(name) for name in archive.namelist())
    return content


def _text_hits(store: Store, user_id: str) -> dict[str, int]:
    """Rows per table.column whose text holds the id (plain or JSON-escaped)."""
    columns = store.query_df(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'main' AND (data_type = 'VARCHAR' OR data_type = 'JSON')"""
    )
    escaped = json.dumps(user_id).strip('"')
    hits = {}
    for table, column in columns.itertuples(index=False):
        n = store.scalar(
            f'SELECT count(*) FROM "{table}" WHERE contains(CAST("{column}" AS VARCHAR), ?) '
            f'OR contains(CAST("{column}" AS VARCHAR), ?)',
            [user_id, escaped],
        )
        if n:
            hits[f"{table}.{column}"] = int(n)
    return hits


def _counts(store: Store) -> dict[str, int]:
    tables = store.query_df(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    )["table_name"]
    return {str(t): int(store.scalar(f'SELECT count(*) FROM "{t}"')) for t in tables}


def _rows_of(store: Store, user_id: str) -> dict[str, int]:
    tables = store.query_df(
        "SELECT DISTINCT table_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND column_name = 'user_id'"
    )["table_name"]
    return {
        str(t): int(store.scalar(f'SELECT count(*) FROM "{t}" WHERE user_id = ?', [user_id]))
        for t in tables
    }


@pytest.fixture(scope="module")
def everywhere(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store (and its models folder) in which VICTIM appears in every place a user can."""
    folder = Path(tmp_path_factory.mktemp("privacy"))
    db = folder / "shop.duckdb"
    data = generate(n_users=150, n_items=60, n_events=6_000, seed=11)
    # the victim is a copy of the busiest buyer, under another id
    buyers = data.events[data.events["event_type"] == "purchase"]["user_id"]
    model_user = buyers.value_counts().index[0]
    mine = data.events[data.events["user_id"] == model_user].assign(user_id=VICTIM)
    if "event_id" in mine:
        mine = mine.assign(event_id=[f"victim-{i}" for i in range(len(mine))])
    me = data.users[data.users["user_id"] == model_user].assign(user_id=VICTIM)
    with open_store(db) as store:
        ingest_frame(store, "items", data.items, source="items")
        ingest_frame(store, "users", pd.concat([data.users, me]), source="users")
        ingest_frame(store, "events", pd.concat([data.events, mine]), source="events")
        # a bad row in a file and a bad event over the API, both of the victim
        bad = folder / "bad.csv"
        bad.write_text(
            "user_id,item_id,event_type,timestamp\n"
            f"{VICTIM},{data.items['item_id'].iloc[0]},teleport,2024-02-01\n"
            f"{model_user},{data.items['item_id'].iloc[0]},teleport,2024-02-01\n"
        )
        ingest_file(store, "events", bad)
        ingest_events(
            store,
            [{"user_id": VICTIM, "item_id": "i-none", "event_type": "levitate",
              "timestamp": "2024-03-01T00:00:00"}],
            update_profiles=False,
        )  # fmt: skip
        build_profiles(store)
        score_store(store)  # user_predictions and models/churn/v0001/model.skops
        registry = RecommenderStore.for_store(db)
        train_and_publish(store, registry, "item-knn")
        train_and_publish(store, registry, "item-knn", {"k": 20})
        snapshot = build_snapshot(store, registry, "item-knn")
        promoted = data.items["item_id"].astype(str).tolist()[:3]
        audience = campaign_audience(
            store, snapshot, name="spring", items=promoted, size=None,
            allowed_users={VICTIM, str(model_user)},
        )  # fmt: skip
        save_audience(store, audience, "spring")
        build_audience(store, Campaign(name="spring", items=tuple(promoted)), model=None,
                       record=True)  # fmt: skip
        rows = _rows_of(store, VICTIM)
    # the victim really is everywhere the erasure has to reach
    for table in ("events", "users", "profiles", "user_predictions", "audiences",
                  "campaign_contacts", "quarantine"):  # fmt: skip
        assert rows.get(table, 0) > 0, (table, rows)
    assert len(registry.versions("item-knn")) == 2
    assert (folder / "models" / "churn" / "v0001" / "model.skops").is_file()
    return db


def test_erase_leaves_the_id_nowhere_and_everyone_else_intact(everywhere: Path) -> None:
    db = everywhere
    registry = RecommenderStore.for_store(db)
    with open_store(db) as store:
        before = _counts(store)
        mine = _rows_of(store, VICTIM)
        other_hits = _text_hits(store, "zq-")  # nothing else shares the victim's prefix
    assert other_hits and all(n > 0 for n in other_hits.values())
    for version in registry.versions("item-knn"):
        assert VICTIM in registry.load("item-knn", version).users

    runner = CliRunner()
    exported = runner.invoke(_app(), ["export-user", VICTIM, "--db", str(db)])
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.output)
    for table, n in mine.items():
        assert len(data[table]) == n, table  # quarantine and campaign contacts included

    result = runner.invoke(_app(), ["erase", VICTIM, "--yes", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {k: v for k, v in report["deleted"].items() if v} == {k: v for k, v in mine.items() if v}
    assert len(report["models_scrubbed"]) == 2

    with open_store(db) as store:
        assert _text_hits(store, VICTIM) == {}
        after = _counts(store)
        assert store.scalar("SELECT count(*) FROM suppressed_users") == 1
    # every table lost exactly the victim's rows, nothing else
    expected = {t: n - mine.get(t, 0) for t, n in before.items()}
    expected["suppressed_users"] += 1
    assert after == expected

    # no file of the store folder holds the id in any encoding: the models (every version, the
    # churn model) and the store file itself, rewritten without the freed pages
    files = [p for p in db.parent.rglob("*") if p.is_file() and p.name != "bad.csv"]
    assert db in files and any(p.name == "users.npz" for p in files)
    for path in files:
        content = _contents(path)
        for form in _forms(VICTIM):
            assert form not in content, (path, form)
    # both versions still load and keep their rows aligned (the id is a tombstone)
    for version in registry.versions("item-knn"):
        loaded = registry.load("item-knn", version)
        assert VICTIM not in loaded.users
        assert len(loaded.users) == loaded.model.n_users_


def _quarantine_store(path: Path) -> None:
    """Users 1, 12 and 1x with one bad row each, and bad rows of user 2 whose text holds 1."""
    with open_store(path) as store:
        ingest_frame(
            store, "events",
            pd.DataFrame({"user_id": ["1", "12", "1x", "2", "1"],
                          "item_id": ["i1", "i1", "i1", "1", "i2"],
                          "event_type": ["view"] * 5,
                          "timestamp": ["2024-01-01"] * 5}),
            source="good.csv",
        )  # fmt: skip
        ingest_frame(
            store, "events",
            pd.DataFrame({"user_id": ["1", "12", "1x", "2", "2", "United Kingdom"],
                          "item_id": ["i1", "i1", "i1", "1", "i 1", "i1"],
                          "event_type": ["teleport", "teleport", "teleport", "teleport",
                                         "teleport", "teleport"],
                          "timestamp": ["2024-01-01"] * 6}),
            source="bad.csv",
        )  # fmt: skip


def test_erase_deletes_only_the_users_own_quarantined_rows(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    _quarantine_store(db)
    runner = CliRunner()
    result = runner.invoke(_app(), ["erase", "1", "--yes", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deleted"]["quarantine"] == 1
    with open_store(db) as store:
        left = store.query_df("SELECT user_id FROM quarantine ORDER BY user_id")["user_id"]
        assert left.tolist() == ["12", "1x", "2", "2", "United Kingdom"]
        kept = store.query_df("SELECT user_id FROM events ORDER BY user_id")["user_id"]
        assert kept.tolist() == ["12", "1x", "2"]


@pytest.mark.parametrize("bad_id", ["", "   ", "\t"])
def test_erase_and_export_refuse_an_empty_id(tmp_path: Path, bad_id: str) -> None:
    db = tmp_path / "shop.duckdb"
    _quarantine_store(db)
    runner = CliRunner()
    for command in (["erase", bad_id, "--yes"], ["export-user", bad_id]):
        result = runner.invoke(_app(), [*command, "--db", str(db)])
        assert result.exit_code == 2, result.output
        assert "user id" in result.output
        assert ("is empty" if not bad_id else "only white space") in result.output
        assert "Traceback" not in result.output
    with open_store(db) as store:
        assert store.scalar("SELECT count(*) FROM quarantine") == 6
        assert store.scalar("SELECT count(*) FROM suppressed_users") == 0


def test_erase_finds_rows_whose_raw_escapes_the_id(tmp_path: Path) -> None:
    """A JSON Lines file may write a non-ASCII id as ``\\u00eb``; its quarantined raw line keeps
    that form, which a text search for the id never found. The API's rows are erased too."""
    db = tmp_path / "shop.duckdb"
    lines = tmp_path / "events.jsonl"
    lines.write_text(
        "".join(
            json.dumps({"user_id": user, "item_id": "i1", "event_type": "hover",
                        "timestamp": "2024-01-01T00:00:00"}) + "\n"
            for user in ("Zoë", "Zoe")
        )
    )  # fmt: skip
    with open_store(db) as store:
        ingest_file(store, "events", lines)
        ingest_events(
            store,
            [{"user_id": "Zoë", "item_id": "i1", "event_type": "hover",
              "timestamp": "2024-01-02T00:00:00"}],
        )  # fmt: skip
        raws = store.query_df("SELECT raw FROM quarantine")["raw"].tolist()
        assert any("\\u00eb" in r for r in raws)  # the file's line escapes the id
    result = CliRunner().invoke(_app(), ["erase", "Zoë", "--yes", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deleted"]["quarantine"] == 2
    with open_store(db) as store:
        assert store.query_df("SELECT user_id FROM quarantine")["user_id"].tolist() == ["Zoe"]


def test_invalid_rows_of_an_erased_user_keep_nothing_of_theirs(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    _quarantine_store(db)
    assert CliRunner().invoke(_app(), ["erase", "1x", "--yes", "--db", str(db)]).exit_code == 0
    later = tmp_path / "later.csv"
    later.write_text("user_id,item_id,event_type,timestamp\n1x,secret-item,teleport,2024-02-01\n")
    with open_store(db) as store:
        report = ingest_file(store, "events", later)
        assert report.rejected == 1
        row = store.query_df(
            "SELECT reason, value, raw, user_id FROM quarantine WHERE load_id = ?",
            [report.load_id],
        ).iloc[0]
        assert row["reason"] == "user erased"
        assert row["raw"] is None and row["value"] is None and row["user_id"] is None


def test_migration_fills_the_user_of_rows_stored_before(tmp_path: Path) -> None:
    """A version-2 store's quarantine gets its user column from the raw JSON, exactly."""
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
    for version in (1, 2):
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    raws = [
        ("events", '{"user_id":"Zo\\u00eb","item_id":"i1","event_type":"hover"}'),
        ("events", '{"user_id":12,"item_id":"1"}'),
        ("events", '{"user_id":"1","item_id":"12"}'),
        ("events", "1,i1,teleport,2024-01-01"),  # a CSV line the reader could not use
        ("events", '{"user_id":"1", "item_id": "trunc'),  # cut at 1000 characters
        ("items", '{"item_id":"1"}'),
        ("events", None),
    ]
    for table, raw in raws:
        con.execute(
            "INSERT INTO quarantine VALUES (1, ?, 'old.csv', 'x', 1, NULL, NULL, 'bad', ?)",
            [table, raw],
        )
    con.close()
    with open_store(db) as store:
        assert store.schema_version >= 3
        users = store.query_df("SELECT user_id FROM quarantine ORDER BY rowid")["user_id"]
        assert [None if pd.isna(u) else u for u in users] == [
            "Zoë", "12", "1", None, None, None, None,
        ]  # fmt: skip
    result = CliRunner().invoke(_app(), ["erase", "1", "--yes", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["deleted"]["quarantine"] == 1
    # the CSV line and the truncated JSON cannot be attributed: counted, and kept
    assert report["quarantine_without_user"] == 2


_SCHEMA = """SELECT table_name, column_name, ordinal_position, data_type, is_nullable
    FROM information_schema.columns WHERE table_schema = 'main'
    ORDER BY table_name, ordinal_position"""


def test_compact_removes_deleted_values_from_the_file(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    _quarantine_store(db)
    with open_store(db) as store:
        ingest_frame(
            store, "users", pd.DataFrame({"user_id": ["1x"], "location": ["Qwertyville-77"]}),
            source="users.csv",
        )  # fmt: skip
        schema = store.query_df(_SCHEMA)
    runner = CliRunner()
    erased = runner.invoke(_app(), ["erase", "1x", "--yes", "--no-compact", "--db", str(db)])
    assert erased.exit_code == 0, erased.output
    assert "shopguide compact" in erased.output
    assert b"Qwertyville-77" in db.read_bytes()  # a DELETE leaves the value in the file
    result = runner.invoke(_app(), ["compact", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert b"Qwertyville-77" not in db.read_bytes()
    with open_store(db) as store:  # the rewritten store is whole: same rows, same schema
        assert store.scalar("SELECT count(*) FROM events") == 4
        assert store.scalar("SELECT count(*) FROM quarantine") == 5
        assert store.scalar("SELECT max(version) FROM schema_version") >= 3
        pd.testing.assert_frame_equal(store.query_df(_SCHEMA), schema)
        store.execute("INSERT INTO suppressed_users VALUES (sha256('x'), now())")
        with pytest.raises(duckdb.ConstraintException):  # the primary key survived
            store.execute("INSERT INTO suppressed_users VALUES (sha256('x'), now())")


def test_compact_refuses_a_store_in_use(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    _quarantine_store(db)
    before = db.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
         " time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = CliRunner().invoke(_app(), ["compact", "--db", str(db)])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert "shopguide serve" in result.output and "Traceback" not in result.output
    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["shop.duckdb"]  # no leftover copy


def test_a_scoring_that_read_the_events_before_an_erasure_writes_no_prediction(
    tmp_path: Path,
) -> None:
    """The service rescored churn in a background thread that read the events before an
    erasure and wrote the erased user's predictions back after it. Here the user is on the
    suppression list while their events are still in the store, as that thread saw them."""
    data = generate(n_users=80, n_items=40, n_events=3_000, seed=4)
    buyer = str(data.events[data.events["event_type"] == "purchase"]["user_id"].iloc[0])
    with open_store(tmp_path / "shop.duckdb") as store:
        for table in ("items", "users", "events"):
            ingest_frame(store, table, getattr(data, table), source=table)
        store.execute("INSERT INTO suppressed_users VALUES (sha256(?), now())", [buyer])
        report = score_store(store)
        assert report["users"] > 1
        scored = store.query_df("SELECT user_id FROM user_predictions")["user_id"]
        assert buyer not in set(scored) and len(scored) > 1


class _PausingStore:
    """A store connection that stops once inside its write of ``user_predictions`` (after the
    write transaction has begun) until ``go`` is set: the moment a background scoring can be
    in when an erasure arrives."""

    def __init__(self, store: Store, inside: threading.Event, go: threading.Event) -> None:
        self._store, self.inside, self.go = store, inside, go

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def append(self, table: str, data: Any) -> int:
        if table == "user_predictions":
            self.inside.set()
            assert self.go.wait(60), "the test never let the scoring go on"
        return self._store.append(table, data)


def test_an_erasure_during_a_scorings_write_leaves_no_prediction(tmp_path: Path) -> None:
    """The service's background rescoring wrote on its own connection, without the lock an
    erasure holds: an erasure that committed while that write transaction was open was
    invisible to it, and the erased user's predictions came back. With the erasure's lock
    passed as ``write_lock`` the erasure waits for the write (or the write for the erasure)."""
    data = generate(n_users=80, n_items=40, n_events=3_000, seed=4)
    buyer = str(data.events[data.events["event_type"] == "purchase"]["user_id"].iloc[0])
    lock = threading.RLock()  # what the service's store lock is to both
    inside, go = threading.Event(), threading.Event()
    with open_store(tmp_path / "shop.duckdb") as store:
        for table in ("items", "users", "events"):
            ingest_frame(store, table, getattr(data, table), source=table)
        own = store.reader()  # the scoring's own connection, as in the service
        failures: list[BaseException] = []

        def scoring() -> None:
            try:
                score_store(cast(Store, _PausingStore(own, inside, go)), write_lock=lock)
            except BaseException as exc:  # reported below
                failures.append(exc)

        def erasure() -> None:
            try:
                with lock:
                    erase_user(store, buyer)
            except BaseException as exc:
                failures.append(exc)

        scorer = threading.Thread(target=scoring)
        scorer.start()
        assert inside.wait(120), failures
        eraser = threading.Thread(target=erasure)
        eraser.start()
        eraser.join(2.0)  # without the lock the erasure commits here, inside the scoring's write
        go.set()
        scorer.join(120)
        eraser.join(120)
        own.close()
        assert not failures, failures
        assert store.scalar("SELECT count(*) FROM user_predictions WHERE user_id = ?", [buyer]) == 0
        assert store.scalar("SELECT count(*) FROM user_predictions") > 1
        with pytest.raises(UnknownIdError):
            export_user(store, buyer)


def test_an_audience_chosen_before_an_erasure_and_saved_after_leaves_the_user_out(
    tmp_path: Path,
) -> None:
    """The service picks an audience's members, then saves them under its store lock: a user
    erased in between must not be written back with it (nor counted in its size)."""
    chosen = {
        "users": [
            {"user_id": "u-kept", "score": 0.9, "rank": 1, "reasons": "bought Toys"},
            {"user_id": VICTIM, "score": 0.8, "rank": 2, "reasons": "bought Toys"},
            {"user_id": "u-also", "score": 0.7, "rank": 3, "reasons": "viewed Toys"},
        ]
    }
    with open_store(tmp_path / "shop.duckdb") as store:
        erase_user(store, VICTIM)  # after the members were chosen
        audience_id = save_audience(store, chosen, "spring")
        assert load_audience(store, audience_id)["user_id"].tolist() == ["u-kept", "u-also"]
        assert (
            store.scalar("SELECT size FROM audience_index WHERE audience_id = ?", [audience_id])
            == 2
        )
        with pytest.raises(UnknownIdError):
            export_user(store, VICTIM)


def test_a_model_fitted_across_an_erasure_is_published_without_the_user(tmp_path: Path) -> None:
    """A service train job reads the events, then fits outside the store lock; an erasure
    meanwhile scrubbed the versions saved then, and the new version was published with the
    erased id in its user map. It is now scrubbed before it becomes current."""
    data = generate(n_users=80, n_items=40, n_events=3_000, seed=4)
    buyer = str(data.events[data.events["event_type"] == "purchase"]["user_id"].iloc[0])
    with open_store(tmp_path / "shop.duckdb") as store:
        for table in ("items", "users", "events"):
            ingest_frame(store, table, getattr(data, table), source=table)
        models = RecommenderStore.for_store(tmp_path / "shop.duckdb")
        erasures: list[dict[str, Any]] = []

        def erase_while_fitting(fraction: float, text: str) -> None:
            if text.startswith("fitting"):  # the events are read; the fit has not begun
                erasures.append(erase_user(store, buyer, model_store=models))

        version = train_and_publish(
            store, models, "item-knn", progress=erase_while_fitting, read_lock=threading.RLock()
        )
        assert len(erasures) == 1 and erasures[0]["models_scrubbed"] == []  # nothing saved yet
        loaded = models.load("item-knn")
        assert loaded.version == version
        ids = set(loaded.users.external_ids.tolist())
        assert buyer not in ids and tombstone(buyer) in ids
        assert len(ids) == data.events["user_id"].nunique()  # the rows stay aligned
        assert not any(_forms(buyer)[0] in _contents(p) for p in models.root.rglob("*.npz"))
