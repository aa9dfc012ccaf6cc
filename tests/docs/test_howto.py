"""The newcomer path of docs/howto/own-data.md, run exactly as the page shows it.

The test reads the page: every block after ``<!-- file: NAME -->`` is written to ``NAME`` and
every ``bash`` block after ``<!-- run -->`` is run command by command (``\\`` continuations
joined) with the installed ``shopguide`` script, in a temporary folder. So the page cannot show
a command or a file that does not work. Then it checks what the commands printed and stored.

A second test checks every ``shopguide ...`` line in every docs page against the command-line
app: the command exists and each ``--option`` it uses is one of that command's options.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
HOWTO = DOCS / "howto" / "own-data.md"
BLOCK = re.compile(
    r"<!-- (file: (?P<name>[^ ]+)|run) -->\n```(?P<lang>\w*)\n(?P<body>.*?)```", re.S
)


def _shopguide() -> list[str]:
    script = Path(sys.executable).with_name("shopguide")
    return [str(script)] if script.exists() else [sys.executable, "-m", "shopguide"]


def _commands(body: str) -> list[str]:
    """The commands of a shell block, with backslash continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [line.strip() for line in joined.splitlines() if line.strip()]


def _page_steps(text: str) -> tuple[dict[str, str], list[str]]:
    files: dict[str, str] = {}
    commands: list[str] = []
    for match in BLOCK.finditer(text):
        if match["name"]:
            files[match["name"]] = match["body"]
        else:
            assert match["lang"] == "bash"
            commands.extend(_commands(match["body"]))
    return files, commands


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "shopguide", command
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPGUIDE_")}
    env["COLUMNS"] = "160"  # no wrapping in the plain-text output we check
    return subprocess.run(
        _shopguide() + argv[1:], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_newcomer_path_from_csv_to_recommendation(tmp_path: Path) -> None:
    files, commands = _page_steps(HOWTO.read_text(encoding="utf-8"))
    assert set(files) == {"orders.csv", "products.csv"}
    assert any("--map" in c for c in commands)
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    # the files really use non-canonical column names
    assert "user_id" not in files["orders.csv"].splitlines()[0]

    outputs: dict[str, str] = {}
    for command in commands:
        result = _run(command, tmp_path)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        outputs[command] = result.stdout

    def output_of(prefix: str) -> str:
        return next(out for cmd, out in outputs.items() if cmd.startswith(prefix))

    assert "accepted 6" in output_of("shopguide ingest items")
    events = output_of("shopguide ingest events")
    assert "read 20" in events and "accepted 19" in events and "rejected 1" in events
    assert "price" in output_of("shopguide quarantine") and "21" in output_of(
        "shopguide quarantine"
    )
    assert "8 users" in output_of("shopguide profiles build")
    assert "User c8" in output_of("shopguide profile c8")
    assert "published item-knn" in output_of("shopguide train item-knn")
    explained = output_of("shopguide recommend c8 --db shop.duckdb --explain")
    first = next(line for line in explained.splitlines() if line.strip().startswith("1."))
    assert "SAUCER" in first
    assert "because you bought Spotted mug and Spotted teapot" in explained
    assert "LANTERN" in output_of("shopguide similar CANDLE")

    listed = json.loads(output_of("shopguide recommend c8 --db shop.duckdb -n 3 --json"))
    ids = [item["item_id"] for item in listed["items"]]
    assert ids[0] == "SAUCER"
    assert len(ids) == 3 and not {"MUG", "TEAPOT"} & set(ids)  # never what c8 already has

    # the store holds what the page says, read back independently
    import duckdb

    with duckdb.connect(str(tmp_path / "shop.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (19,)
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (1,)
        row = con.execute(
            "SELECT title, category, price FROM items WHERE item_id = 'LANTERN'"
        ).fetchone()
        assert row == ("Glass lantern", "Home > Lighting", 12.0)


def _cli_tree() -> dict[str, set[str]]:
    """Command path (without ``shopguide``) -> the option names it accepts."""
    import typer.main

    from shopguide.cli.app import app

    tree: dict[str, set[str]] = {}

    def walk(command, path: str, parent) -> None:  # type: ignore[no-untyped-def]
        ctx = command.context_class(command, info_name=path or "shopguide", parent=parent)
        tree[path] = {opt for p in command.params for opt in getattr(p, "opts", [])} | {
            opt for p in command.params for opt in getattr(p, "secondary_opts", [])
        }
        tree[path].add("--help")
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), f"{path} {name}".strip(), ctx)

    walk(typer.main.get_command(app), "", None)
    return tree


def _pages() -> list[Path]:
    """Every docs page and the README."""
    return [*sorted(DOCS.rglob("*.md")), DOCS.parent / "README.md"]


def _doc_command_lines() -> list[tuple[str, str]]:
    found = []
    for page in _pages():
        if page.name == "cli.md":  # generated from the app itself
            continue
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, re.S):
            for command in _commands(block):
                command = command.split(" #")[0].strip()
                if command.startswith("shopguide "):
                    found.append((str(page.relative_to(DOCS.parent)), command))
    return found


@pytest.mark.parametrize("page,command", _doc_command_lines())
def test_documented_commands_exist(page: str, command: str) -> None:
    tree = _cli_tree()
    words = shlex.split(command)[1:]
    path = ""
    for word in words:
        candidate = f"{path} {word}".strip()
        if candidate in tree:
            path = candidate
        else:
            break
    assert path, f"{page}: no such command: {command}"
    for word in words:
        option = word.split("=")[0]
        if option.startswith("--"):
            assert option in tree[path], f"{page}: shopguide {path} has no option {option}"


def test_relative_links_in_the_docs_point_to_files() -> None:
    broken = []
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://", target) or target.startswith("#"):
                continue
            path = target.split("#")[0]
            if path and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(DOCS.parent)} -> {target}")
    assert not broken, broken
