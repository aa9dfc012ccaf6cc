"""A command whose reader stops early (``shopguide ... | head``) ends quietly: no "this is a
bug" message for a closed pipe."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import typer
from shopguide.cli._common import ShopGuideGroup

app = typer.Typer(cls=ShopGuideGroup)

@app.command()
def big() -> None:
    for _ in range(20_000):
        print("x" * 100)

@app.command()
def other() -> None:
    pass

app()
"""


def test_a_closed_pipe_is_not_reported_as_a_bug():
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, "big"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(1000)
    proc.stdout.close()  # what `head` does once it has its lines
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert first.startswith(b"x" * 100)
    assert "bug" not in stderr and "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
