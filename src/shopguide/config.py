"""Settings, read from ``SHOPGUIDE_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopguide.errors import ConfigError

DEFAULT_DB = Path("shopguide.duckdb")


class Settings(BaseSettings):
    """Run-time settings.

    ``SHOPGUIDE_DB`` sets the store path used when a command gets no ``--db``;
    ``SHOPGUIDE_CHUNK_ROWS`` the rows per ingestion chunk (memory against speed);
    ``SHOPGUIDE_MEMORY_LIMIT`` DuckDB's memory limit (for example ``4GB``; unset, DuckDB's
    default, except that a file load holds DuckDB to 1GB);
    ``SHOPGUIDE_CURRENCY`` the symbol put before amounts in readable texts such as churn
    reasons (for example ``£``; empty by default);
    ``SHOPGUIDE_KEEP_VERSIONS`` how many versions of a model ``shopguide train`` and
    ``shopguide churn train`` keep (the newest; the current one stays too);
    ``SHOPGUIDE_MEMORY_BUDGET`` the memory a model fit may use in ``train`` and ``compare``
    (for example ``4GB`` or ``40%``; default half the machine's memory).
    """

    model_config = SettingsConfigDict(env_prefix="SHOPGUIDE_", env_file=".env", extra="ignore")

    db: Path = DEFAULT_DB
    chunk_rows: int = Field(default=250_000, ge=1)
    memory_limit: str | None = None
    threads: int | None = Field(default=None, ge=1)
    currency: str = ""
    keep_versions: int = Field(default=5, ge=1)
    memory_budget: str | None = None


def get_settings() -> Settings:
    """Fresh settings from the current environment."""
    return settings_from_env(Settings)


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def settings_from_env(
    kind: type[SettingsT],
    overrides: Mapping[str, Any] | None = None,
    *,
    hints: Mapping[str, str] | None = None,
    secret: frozenset[str] = frozenset(),
) -> SettingsT:
    """``kind`` from ``SHOPGUIDE_*`` variables, ``.env`` and ``overrides``. A value that cannot
    be used raises :class:`ConfigError` naming its variable and what it takes (with the hint of
    ``hints`` for that setting), not a validation dump; values of ``secret`` settings are not
    repeated."""
    try:
        return kind(**dict(overrides or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "?"
        variable = f"SHOPGUIDE_{name.upper()}"
        value = error.get("input")
        shown = "" if name in secret else f" {_quoted(value)}"
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(
            f"the setting {name} ({variable}) has an unusable value{shown}: {reason}",
            hint=(hints or {}).get(
                name, f"set {variable} to a valid value, or unset it for the default"
            ),
        ) from None


def _quoted(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)
