"""Every command, given a wrong input, says what is wrong and how to fix it, and exits 2.

The table below has rows for every command registered in the Typer app (a new command without
a row fails :func:`test_the_table_covers_every_command`). Each row runs in-process through
Typer's runner with ``catch_exceptions=False``, so an exception that escapes the CLI fails the
test with its traceback; a few rows run as real ``shopguide`` processes as well.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shopguide.cli._common import ShopGuideGroup, check_time
from shopguide.cli.app import app
from shopguide.data.datasets.synthetic import generate, load_synthetic
from shopguide.store import open_store

runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # error boxes wide enough that no message is wrapped mid-path
SHOPGUIDE = Path(sys.executable).with_name("shopguide")

# ---------------------------------------------------------------------------------------------
# the table: command -> [(what is wrong, arguments, words the message must contain)]
# {db} is a small store with a published item-knn model, {tmp} a scratch folder, {file} a
# regular file, {missing} a path that does not exist.
# ---------------------------------------------------------------------------------------------
BAD_MODEL = ["unknown model 'itemknn'", "did you mean 'item-knn'"]
BAD_DATE = ["'yesterday'", "ISO 8601"]
Row = tuple[str, str, list[str]]  # what is wrong, the command line, words its message must hold

# fmt: off
TABLE: dict[str, list[Row]] = {
    "init": [("store path under a file", "init --db {file}/x.duckdb", ["not a folder"])],
    "ingest": [
        ("unknown table", "ingest event {events} --db {db}", ["'event'", "events"]),
        ("missing file", "ingest events {missing} --db {db}", ["no such file"]),
        ("bad --map syntax", "ingest events {events} --map user --db {db}",
         ["'user'", "file_column=canonical_column"]),
        ("unknown format", "ingest events {events} --format xls --db {db}", ["--format", "csv"]),
        ("chunk rows 0", "ingest events {events} --chunk-rows 0 --db {db}", ["--chunk-rows"]),
        ("unknown encoding", "ingest events {events} --encoding klingon --db {db}", ["klingon"]),
        ("unknown preset", "ingest events {events} --preset shopfy-orders --db {db}",
         ["'shopfy-orders'", "shopify-orders"]),
        ("bad --set syntax", "ingest events {events} --set event_type --db {db}",
         ["--set", "NAME=VALUE"]),
        ("bad --derive expression", "ingest events {events} --derive price=nosuch*2 --db {db}",
         ["--derive", "nosuch"]),
    ],
    "quarantine": [
        ("unknown table", "quarantine --table event --db {db}", ["'event'", "events"]),
        ("negative limit", "quarantine --limit -1 --db {db}", ["--limit"]),
    ],
    "stats": [],  # the missing-store row only (added below for every command that reads one)
    "demo": [
        ("output is a file", "demo --out {file}", ["not a folder"]),
        ("output holds other files", "demo --out {tmp}", ["not a demo's output"]),
    ],
    "profiles build": [
        ("unparseable date", "profiles build --as-of yesterday --db {db}", [*BAD_DATE]),
    ],
    "profiles versions": [],
    "profiles refresh": [],  # no input to get wrong; a store without profiles: test_cli_profiles
    "profiles drop": [
        ("unparseable date", "profiles drop yesterday --db {db}", [*BAD_DATE]),
        ("negative keep", "profiles drop --keep-latest -1 --db {db}", ["--keep-latest"]),
    ],
    "profile": [
        ("unknown user", "profile nobody --db {db}", ["nobody"]),
        ("unparseable date", "profile u000001 --as-of yesterday --db {db}", [*BAD_DATE]),
    ],
    "segments": [("unparseable date", "segments --as-of yesterday --db {db}", [*BAD_DATE])],
    "report": [
        ("unparseable date", "report --as-of 13/13/2024 --out {tmp}/r --db {db}",
         ["13/13/2024", "ISO 8601"]),
        ("output is a file", "report --out {file} --db {db}", ["not a folder"]),
    ],
    "train": [
        ("wrong model name", "train itemknn --db {db}", [*BAD_MODEL]),
        ("unknown parameter", "train item-knn --param K=50 --db {db}", ["'K'", "'k'"]),
        ("bad value type", "train item-knn --param k=many --db {db}", ["'many'", "whole number"]),
        ("bad --param syntax", "train item-knn --param k --db {db}", ["NAME=VALUE"]),
        ("bad value", "train item-knn --param k=-3 --db {db}", ["k must be >= 1"]),
        ("memory budget not a size", "train item-knn --memory-budget lots --db {db}",
         ["'lots'", "2GB"]),
        ("memory budget too small", "train item-knn --memory-budget 1kB --db {db}",
         ["item-knn would need about", "--memory-budget"]),
    ],
    "recommend": [
        ("wrong model name", "recommend u000001 --model itemknn --db {db}", [*BAD_MODEL]),
        ("negative n", "recommend u000001 -n -1 --db {db}", ["-n"]),
        ("not a number", "recommend u000001 -n ten --db {db}", ["-n", "integer"]),
    ],
    "similar": [
        ("unknown item", "similar no-such-item --db {db}", ["no-such-item"]),
        ("wrong model name", "similar i00001 --model itemknn --db {db}", [*BAD_MODEL]),
        ("negative n", "similar i00001 -n -1 --db {db}", ["-n"]),
    ],
    "evaluate": [
        ("wrong model name", "evaluate itemknn --db {db}", [*BAD_MODEL]),
        ("unknown parameter", "evaluate item-knn --param K=5 --db {db}", ["'K'"]),
        ("unparseable cut", "evaluate item-knn --cut yesterday --db {db}", [*BAD_DATE]),
        ("no test days", "evaluate item-knn --test-days 0 --db {db}", ["--test-days"]),
    ],
    "tune": [
        ("wrong model name", "tune itemknn --out {tmp}/t --db {db}", [*BAD_MODEL]),
        ("bad --grid syntax", "tune item-knn --grid k --out {tmp}/t --db {db}", ["NAME=V1,V2"]),
        ("unknown grid parameter", "tune item-knn --grid K=1,2 --out {tmp}/t --db {db}", ["'K'"]),
        ("one fold", "tune item-knn --folds 1 --out {tmp}/t --db {db}", ["--folds"]),
        ("no windows", "tune item-knn --windows 0 --out {tmp}/t --db {db}", ["--windows"]),
    ],
    "compare": [
        ("wrong model name", "compare --model eas --out {tmp}/c --db {db}",
         ["did you mean 'ease'"]),
        ("no test days", "compare --test-days -2 --out {tmp}/c --db {db}", ["--test-days"]),
        ("memory budget over 100 %", "compare --memory-budget 150% --out {tmp}/c --db {db}",
         ["'150%'", "100 %"]),
    ],
    "churn train": [("negative horizon", "churn train --horizon -5 --db {db}", ["--horizon"])],
    "churn score": [("zero horizon", "churn score --horizon 0 --db {db}", ["--horizon"])],
    "churn list": [("negative limit", "churn list --limit -1 --db {db}", ["--limit"])],
    "clv": [("negative limit", "clv --limit -3 --db {db}", ["--limit"])],
    "winback": [
        ("wrong model name", "winback --model itemknn --out {tmp}/w --db {db}", [*BAD_MODEL]),
        ("churn above 1", "winback --min-churn 2 --out {tmp}/w --db {db}", ["--min-churn"]),
        ("negative n", "winback -n -1 --out {tmp}/w --db {db}", ["-n"]),
    ],
    "campaign score": [
        ("wrong model name", "campaign score spring --item i00001 --model itemknn --db {db}",
         [*BAD_MODEL]),
        ("discount above 1", "campaign score spring --discount 20 --db {db}", ["--discount"]),
    ],
    "campaign audience": [
        ("wrong model name",
         "campaign audience spring --item i00001 --model itemknn --out {tmp}/a --db {db}",
         [*BAD_MODEL]),
        ("missing opt-out file",
         "campaign audience spring --opt-out {missing} --out {tmp}/a --db {db}",
         ["--opt-out", "does not exist"]),
        ("negative size", "campaign audience spring --size -5 --out {tmp}/a --db {db}",
         ["--size"]),
    ],
    "campaign export": [
        ("unknown audience", "campaign export nope --out {tmp}/a.csv --db {db}", ["'nope'"]),
    ],
    "serve": [
        ("wrong model name", "serve --model itemknn --db {db}", [*BAD_MODEL]),
        ("missing keys file", "serve --keys-file {missing} --db {db}",
         ["--keys-file", "does not exist"]),
        ("port out of range", "serve --port 0 --db {db}", ["--port"]),
    ],
    "erase": [("blank user id", "erase ' ' --yes --db {db}", ["white space"])],
    "compact": [],
    "export-user": [("unknown user", "export-user nobody --db {db}", ["nobody"])],
    "spark export": [("output is a file", "spark export --out {file} --db {db}", ["not a folder"])],
    "spark profiles": [
        ("missing events folder", "spark profiles --events {missing} --out {tmp}/s",
         ["--events", "does not exist"]),
    ],
    "spark rfm": [
        ("missing events folder", "spark rfm --events {missing} --out {tmp}/s",
         ["--events", "does not exist"]),
    ],
    "spark item-knn": [
        ("unknown mode", "spark item-knn --events {tmp} --out {tmp}/s --mode fast",
         ["--mode", "'fast'", "exact"]),
    ],
    "spark user-knn": [
        ("negative n", "spark user-knn --events {tmp} --out {tmp}/s --n -1", ["--n"]),
    ],
    "spark als": [
        ("zero factors", "spark als --events {tmp} --out {tmp}/s --factors 0", ["--factors"]),
    ],
    "engine profiles": [
        ("unknown engine", "engine profiles --engine gpu --db {db}", ["gpu", "local"]),
        ("unparseable date", "engine profiles --as-of yesterday --db {db}", [*BAD_DATE]),
    ],
    "engine rfm": [
        ("unparseable date", "engine rfm --as-of yesterday --db {db}", [*BAD_DATE]),
    ],
    "engine item-knn": [
        ("unknown engine", "engine item-knn --engine gpu --db {db}", ["gpu", "local"]),
        ("negative k", "engine item-knn --k -1 --db {db}", ["--k"]),
        ("unknown mode", "engine item-knn --mode dimsun --db {db}", ["did you mean 'dimsum'"]),
    ],
    "engine user-knn": [("negative n", "engine user-knn --n -1 --db {db}", ["--n"])],
}
# fmt: on
#: Commands that create a store, so a missing one is not an error for them.
CREATORS = {"init", "ingest", "demo"}
#: Arguments that must precede --db for the missing-store row of a command.
REQUIRED = {
    "profile": ["u000001"], "recommend": ["u000001"], "similar": ["i00001"],
    "train": ["item-knn"], "evaluate": ["item-knn"], "tune": ["item-knn"],
    "campaign score": ["spring"], "campaign audience": ["spring"], "campaign export": ["x"],
    "erase": ["u000001", "--yes"], "export-user": ["u000001"], "profiles drop": ["2024-01-01"],
}  # fmt: skip


def commands() -> dict[str, Any]:
    """Every command path of the app ("churn train", "stats", ...) and its click command."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found[" ".join(path)] = command

    walk(typer.main.get_command(app), [])
    return found


def takes(command: Any, option: str) -> bool:
    return any(option in getattr(param, "opts", ()) for param in command.params)


def rows() -> Iterator[Any]:
    """Each table row, plus a missing-store row for every command with ``--db`` that does not
    create stores; once as text and once with ``--json`` where the command has it."""
    everything = commands()
    for name, table_rows in TABLE.items():
        found = list(table_rows)
        command = everything.get(name)
        if command is not None and name not in CREATORS and takes(command, "--db"):
            line = " ".join([name, *REQUIRED.get(name, []), "--db {missing}/x.duckdb"])
            found.append(("missing store", line, ["no store at", "shopguide init --db"]))
        for label, line, words in found:
            args = shlex.split(line)
            yield pytest.param(args, words, False, id=f"{name}: {label}")
            if command is not None and takes(command, "--json"):
                yield pytest.param(args, words, True, id=f"{name}: {label} (json)")


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = Path(tmp_path_factory.mktemp("wrong-inputs"))
    db = folder / "shop.duckdb"
    data = generate(n_users=80, n_items=80, n_events=3_000, seed=5)
    with open_store(db) as store:
        load_synthetic(store, data)
    for step in (["train", "item-knn"], ["profiles", "build"], ["churn", "score"]):
        done = runner.invoke(app, [*step, "--db", str(db)])
        assert done.exit_code == 0, done.output
    events = folder / "events.csv"
    events.write_text("user_id,item_id,event_type,timestamp\nu1,i1,view,2024-01-01\n")
    plain = folder / "plain.txt"
    plain.write_text("a regular file\n")
    return {"db": str(db), "tmp": str(folder), "file": str(plain),
            "missing": str(folder / "does-not-exist"), "events": str(events)}  # fmt: skip


def run_script(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``shopguide`` script on this checkout's code."""
    env = {**os.environ, **WIDE, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([str(SHOPGUIDE), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)  # fmt: skip


def fill(args: list[str], places: dict[str, str]) -> list[str]:
    return [arg.format(**places) for arg in args]


def test_the_table_covers_every_command() -> None:
    registered = set(commands())
    assert registered - set(TABLE) == set(), "add rows for the new commands to TABLE"
    assert set(TABLE) - registered == set(), "TABLE names commands that do not exist"


@pytest.mark.parametrize(("args", "words", "as_json"), list(rows()))
def test_a_wrong_input_gets_a_message_and_exit_status_2(
    args: list[str], words: list[str], as_json: bool, places: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    def started(*_: object) -> None:
        pytest.fail("serve accepted the input and would have replaced this process")

    monkeypatch.setattr(os, "execv", started)  # `serve` ends by exec-ing the server
    full = fill(args, places) + (["--json"] if as_json else [])
    result = runner.invoke(app, full, catch_exceptions=False, env=WIDE)
    code, output = result.exit_code, result.output
    assert "Traceback" not in output
    assert code == 2, output
    if as_json:  # one object on standard output, nothing else there
        error = json.loads(result.stdout)
        assert set(error) == {"error", "hint", "type"} and error["error"], error
        output = f"{error['error']} {error['hint']}"
    said = " ".join(output.replace("│", " ").split()).lower()  # unwrap Typer's error box
    for word in words:
        assert word.lower() in said, (word, output)
    assert not Path(places["missing"]).exists()  # nothing created by accident


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["train", "itemknn"], ["unknown model 'itemknn'", "did you mean 'item-knn'"]),
        (["train", "item-knn", "--param", "K=50"], ["'K'"]),
        (["segments", "--as-of", "yesterday"], ["yesterday", "ISO 8601"]),
        (["stats", "--db", "{missing}/nope.duckdb"], ["no store at"]),
        (["serve", "--db", "{missing}/nope.duckdb"], ["no store at"]),
    ],
)
def test_the_installed_script_prints_no_traceback(
    args: list[str], words: list[str], places: dict[str, str]
) -> None:
    full = fill(args if "--db" in args else [*args, "--db", "{db}"], places)
    proc = run_script(full)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 2, proc.stderr
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)


def test_with_debug_a_user_error_shows_its_traceback_too(places: dict[str, str]) -> None:
    result = runner.invoke(app, ["--debug", "train", "itemknn", "--db", places["db"]], env=WIDE)
    assert result.exit_code == 2
    assert "Traceback" in result.output and "UnknownModelError" in result.output
    assert "did you mean 'item-knn'" in result.output


def _app_with_a_bug() -> typer.Typer:
    """A two-command app on the CLI's root group: one command with a genuine bug in it."""
    buggy = typer.Typer(cls=ShopGuideGroup)

    @buggy.callback()
    def root(debug: bool = typer.Option(False, "--debug", envvar="SHOPGUIDE_DEBUG")) -> None:
        """Root."""

    @buggy.command()
    def average(as_json: bool = typer.Option(False, "--json")) -> None:
        """Divides by the number of rows, of which there are none."""
        print(sum([]) / len([]))

    @buggy.command()
    def fine() -> None:
        """Does nothing."""

    return buggy


def test_an_unexpected_error_is_one_line_saying_it_is_a_bug_and_exit_status_1() -> None:
    buggy = _app_with_a_bug()
    result = runner.invoke(buggy, ["average"], catch_exceptions=False, env=WIDE)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "unexpected ZeroDivisionError: division by zero" in result.output
    assert "this is a bug; please report it with the output of `shopguide --debug average`" in (
        result.output
    )
    result = runner.invoke(buggy, ["average", "--json"], catch_exceptions=False)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["type"] == "InternalError"
    for debug in (["--debug", "average"], ["average"]):  # the option, or the variable
        env = {} if "--debug" in debug else {"SHOPGUIDE_DEBUG": "1"}
        result = runner.invoke(buggy, debug, env=env)
        assert isinstance(result.exception, ZeroDivisionError)  # raised, traceback and all


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.sampled_from(["date", "minutes", "seconds", "microseconds"]),
    st.sampled_from(["T", " "]),
)
@settings(max_examples=200, deadline=None)
def test_a_time_option_keeps_any_iso_8601_date_or_time_as_given(
    when: datetime, precision: str, separator: str
) -> None:
    text = (
        when.date().isoformat()
        if precision == "date"
        else when.isoformat(sep=separator, timespec=precision)
    )
    assert check_time(text) == text


#: Words pandas reads as a time although they hold no digit.
_TIME_WORDS = {"now", "today"}


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=30))
@settings(max_examples=200, deadline=None)
def test_a_time_option_refuses_text_without_a_date_clearly(text: str) -> None:
    if text.strip().lower() in _TIME_WORDS:
        assert check_time(text) == text
        return
    with pytest.raises(typer.BadParameter, match="ISO 8601") as caught:
        check_time(text)
    assert "Traceback" not in str(caught.value)


def test_the_python_api_refuses_an_unreadable_date_with_a_typed_error(
    places: dict[str, str],
) -> None:
    from shopguide import analytics
    from shopguide.errors import DateError

    with (
        open_store(places["db"], create=False) as store,
        pytest.raises(DateError, match="'yesterday'") as caught,
    ):
        analytics.segment_summary(store, "yesterday")
    assert isinstance(caught.value, ValueError) and "ISO 8601" in (caught.value.hint or "")
