"""Service settings from ``SHOPGUIDE_*`` environment variables, a ``.env`` file or code.

API keys map a secret to a role. Give them as JSON in ``SHOPGUIDE_API_KEYS``
(``{"k3y...": "admin", "r3ad...": "read"}``) or in a JSON file named by
``SHOPGUIDE_API_KEYS_FILE`` with the same shape; both sources are merged.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shopguide.config import settings_from_env
from shopguide.errors import ConfigError


class Role(enum.IntEnum):
    """What a key may do; a higher role includes the lower ones."""

    READ = 1  # read profiles, recommendations, analytics
    WRITE = 2  # also ingest events, build audiences
    ADMIN = 3  # also train/publish models, erase and export users

    @classmethod
    def parse(cls, value: object) -> Role:
        """``read``/``read-only``/``write``/``admin`` (any case) or a Role."""
        if isinstance(value, Role):
            return value
        text = str(value).strip().lower().replace("_", "-")
        aliases = {"read": cls.READ, "read-only": cls.READ, "readonly": cls.READ,
                   "write": cls.WRITE, "admin": cls.ADMIN}  # fmt: skip
        if text not in aliases:
            raise ValueError(f"unknown role {value!r}: use read-only, write or admin")
        return aliases[text]


class ServiceSettings(BaseSettings):
    """Settings of ``shopguide serve``.

    ``db`` the store file; ``model`` the recommender served (``None``: the store's current
    model, followed as it changes; a name: that model's published version);
    ``model_check_seconds`` how often requests look for a newly published version;
    ``prepare`` builds missing profiles at start; ``train_if_missing`` trains the model (with
    progress) at start when none is published, instead of serving the popularity fallback;
    ``max_body_bytes`` the largest request body accepted (413 above it);
    ``keep_versions`` how many versions of a model the model store keeps after a training
    publishes one (the newest, plus the current and the served one);
    ``population_max_age_minutes`` how far (in event time) the population statistics behind
    the live profiles' affinity, price index and RFM fields may lag before a live update has
    them measured again in the background (also on a new calendar day).
    """

    model_config = SettingsConfigDict(env_prefix="SHOPGUIDE_", env_file=".env", extra="ignore")

    db: Path = Path("shopguide.duckdb")
    # NoDecode: the JSON is read by _keys_json, so a malformed value gets a ValidationError
    api_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    api_keys_file: Path | None = None
    model: str | None = None
    model_check_seconds: float = 1.0
    prepare: bool = True
    train_if_missing: bool = False
    max_batch_events: int = 10_000
    max_body_bytes: int = Field(default=10_000_000, ge=1024)
    keep_versions: int = Field(default=5, ge=1)
    population_max_age_minutes: float = Field(default=60.0, gt=0)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("not JSON") from None  # the message must not echo the keys
        return value

    def keys(self) -> dict[str, Role]:
        """Every configured key with its role (the file's keys, then the environment's)."""
        merged: dict[str, Any] = {}
        if self.api_keys_file is not None:
            try:
                merged.update(json.loads(Path(self.api_keys_file).read_text()))
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"cannot read the API key file {self.api_keys_file}: {exc}",
                    hint='write a JSON object such as {"my-secret-key": "admin"}',
                ) from exc
        merged.update(self.api_keys)
        try:
            return {str(k): Role.parse(v) for k, v in merged.items()}
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc


def load_settings(**overrides: Any) -> ServiceSettings:
    """:class:`ServiceSettings` from the environment (``SHOPGUIDE_*``), ``.env`` and
    ``overrides``; a value that cannot be used raises :class:`ConfigError` naming its
    variable (:func:`shopguide.config.settings_from_env`), never repeating the keys."""
    return settings_from_env(
        ServiceSettings, overrides, hints=_HINTS, secret=frozenset({"api_keys"})
    )


_HINTS: dict[str, str] = {
    "api_keys": "set SHOPGUIDE_API_KEYS to a JSON object of keys and roles, such as "
    + json.dumps({"my-secret-key": "admin", "another-key": "read"})
    + ", or unset it and pass --keys-file",
}
