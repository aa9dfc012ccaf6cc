"""docs/cli.md and docs/api.md are exactly what their generators produce from the code.

When a command, option or help text changes, this fails until the reference is regenerated
(``python docs/gen_cli_reference.py``), so the reference never drifts from the code.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_cli_reference", DOCS / "gen_cli_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_cli_reference", module)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    expected = _generator().generate()
    current = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert current == expected, "docs/cli.md is stale: run python docs/gen_cli_reference.py"


def test_cli_reference_lists_every_command() -> None:
    from shopguide.cli.app import app

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    names = {
        c.name or c.callback.__name__.replace("_", "-")
        for c in app.registered_commands
        if c.callback
    }
    names |= {g.name for g in app.registered_groups if g.name}
    assert names, "no commands found on the app"
    for name in names:
        assert f"`shopguide {name}`" in text, name
    # every section holds a usage line for its own command path
    for path in re.findall(r'<a id="[^"]+"></a>`([^`]+)`', text):
        assert f"Usage: {path} " in text, path


def test_generation_does_not_depend_on_the_terminal(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    generator = _generator()
    wide = generator.generate()
    monkeypatch.setenv("COLUMNS", "40")
    assert generator.generate() == wide


def _api_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_api_reference", DOCS / "gen_api_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_api_reference", module)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date() -> None:
    expected = _api_generator().generate()
    current = (DOCS / "api.md").read_text(encoding="utf-8")
    assert current == expected, "docs/api.md is stale: run python docs/gen_api_reference.py"


def test_api_reference_covers_the_workflows_and_models() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    for name in ("class `UserKNN(", "class `ItemKNN(", "class `EASE(", "`build_profiles(",
                 "`compare_store(", "`tune_events(", "`build_audience(", "`score_store(",
                 "class `TLearner(", "`uplift_at_k(", "`ingest_file("):  # fmt: skip
        assert name in text, name
    assert " at 0x" not in text  # no memory addresses: the file is stable
