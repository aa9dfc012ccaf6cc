"""A store held by a running service: a second ``shopguide serve`` on it, ``shopguide train``
and ``shopguide compact`` give one message naming the service's process and exit 2, without a
traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from live_server import LiveServer, free_port


@pytest.mark.parametrize(
    "command",
    [["serve", "--no-prepare"], ["train", "popular"], ["compact"]],
    ids=["serve", "train", "compact"],
)
def test_commands_on_a_store_held_by_the_service_name_its_process(
    server: LiveServer, shop: tuple[Path, object], command: list[str]
) -> None:
    db = shop[0]
    argv = [sys.executable, "-m", "shopguide", *command, "--db", str(db)]
    if command[0] == "serve":
        argv += ["--port", str(free_port())]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=os.environ)
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())  # rich wraps long lines
    assert "Traceback" not in message
    assert f"is locked by process {os.getpid()}" in message
    assert "POST /v1/models/{name}/train" in message
    assert message.count("error:") == 1
