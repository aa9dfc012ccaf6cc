"""The exception tree. Every error ShopGuide raises on purpose derives from one root::

ShopGuideError
├── ConfigError                  bad setting or environment variable
├── MissingDependencyError       an optional extra is not installed (message gives the pip command)
├── StoreError                   the store cannot be opened or is in an unexpected state
│   ├── StoreNotFoundError       no store at the path (only ``init`` and ``ingest`` create one)
│   ├── StoreLockedError         another process (named by its PID) holds the store file
│   └── SchemaVersionError       the store file was written by a newer ShopGuide
├── DataError                    input data is unusable
│   ├── FileReadError            a file cannot be read at all (nothing was changed)
│   ├── MissingColumnsError      required columns are absent (suggests ``--map``, ``--set``)
│   ├── MappingError             a ``--map``/``--set``/``--derive`` or preset cannot be applied
│   ├── RowError                 one bad value at a file, line and column
│   └── InvalidIdError           an id that cannot name anyone (empty or only spaces)
├── InputError                   an argument has an unusable value (also a ValueError)
│   ├── UnknownNameError         a name that is not one of the choices (suggests the closest)
│   │   └── UnknownModelError    a model name no one knows
│   ├── ParameterError           a model parameter is unknown or has a value of the wrong type
│   └── DateError                a date or time cannot be read
├── NotFittedError               a model method was called before ``fit``
│   └── NotBoundError            a call on external ids to a model without its id maps
├── UnknownIdError               a user or item id the model or store does not know
├── JobConflictError             a job of the same kind is already queued or running
├── ModelFormatError             a saved model cannot be loaded
│   └── NoCurrentModelError      the store has no current model (publish one first)
└── MemoryBudgetError            a model would not fit the memory budget (says what to do)
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence


class ShopGuideError(Exception):
    """Root of every error ShopGuide raises deliberately."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  how to fix: {hint}")


class ConfigError(ShopGuideError):
    """A setting or environment variable has an unusable value."""


class MissingDependencyError(ShopGuideError, ImportError):
    """A feature needs an optional extra that is not installed."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional package '{package}', which is not installed",
            hint=f"pip install 'shopguide[{extra}]'",
        )
        self.package = package
        self.extra = extra


class StoreError(ShopGuideError):
    """The store cannot be opened or used."""


class StoreMemoryError(StoreError):
    """DuckDB needed more memory than its limit allows; the unfinished step stored nothing."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the store ran out of memory: {detail}",
            hint="give DuckDB more room with SHOPGUIDE_MEMORY_LIMIT (for example "
            "SHOPGUIDE_MEMORY_LIMIT=4GB) or close other programs, then run the same command "
            "again: the step that failed was rolled back, so nothing of it is stored",
        )


class StoreNotFoundError(StoreError):
    """There is no store at the path; reading commands never create one by accident."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(f"no store at {path}", hint=f"create it with `shopguide init --db {path}`")
        self.path = str(path)


class StoreLockedError(StoreError):
    """Another process holds the store file open for writing (DuckDB allows one writer).

    ``pid`` is that process's id when DuckDB names it, ``command`` its command line when the
    operating system shows it.
    """

    def __init__(self, path: str, pid: int | None, command: str | None = None) -> None:
        who = "another process" if pid is None else f"process {pid}"
        if command:
            who += f" ({command})"
        super().__init__(
            f"the store {path} is locked by {who}: DuckDB lets one process write a store at a time",
            hint="if that process is `shopguide serve`, do the work through its REST API "
            "(for example POST /v1/models/{name}/train trains and publishes a model, and the "
            "service swaps to it) or stop the service first; otherwise wait for the process "
            "to finish, or stop it",
        )
        self.path = path
        self.pid = pid
        self.command = command


class SchemaVersionError(StoreError):
    """The store was written by a newer ShopGuide than this one."""


class DataError(ShopGuideError):
    """Input data cannot be used."""


class FileReadError(DataError):
    """A whole file cannot be read; nothing in the store was changed."""

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"cannot read {path}: {problem}", hint=hint)
        self.path = path
        self.problem = problem


class MissingColumnsError(DataError):
    """Required columns are missing from a file's header."""

    def __init__(self, path: str, missing: Sequence[str], found: Sequence[str]) -> None:
        super().__init__(
            f"{path}: line 1: required column(s) {', '.join(missing)} missing; "
            f"the header has {', '.join(found) or 'no columns'}",
            hint=_missing_hint(missing),
        )
        self.path = path
        self.missing = list(missing)
        self.found = list(found)


def _missing_hint(missing: Sequence[str]) -> str:
    """How to supply missing columns: a constant where one fits, else a mapping or expression."""
    ways: list[str] = []
    for name in missing:
        if name == "event_type":
            ways.append(
                "--set event_type=purchase (when every row is a purchase; or map a column that "
                "holds view/click/favorite/cart/purchase/refund)"
            )
        elif name == "timestamp":
            ways.append('--map YOUR_DATE_COLUMN=timestamp or --derive "timestamp=EXPRESSION"')
        else:
            ways.append(f"--map YOUR_COLUMN={name}")
    return (
        f"give them with {'; '.join(ways)}; for a Shopify, WooCommerce or GA4 export use "
        "--preset shopify-orders, woocommerce-orders or ga4"
    )


class MappingError(DataError):
    """A column mapping, constant, derived expression or preset cannot be applied to a file."""


class RowError(DataError):
    """One bad value, located by file, line and column."""

    def __init__(
        self, path: str, line: int, column: str | None, reason: str, *, hint: str | None = None
    ) -> None:
        where = f"{path}: line {line}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {reason}", hint=hint)
        self.path = path
        self.line = line
        self.column = column
        self.reason = reason


class InvalidIdError(DataError):
    """An id given to a command or route cannot name anyone (empty or only white space)."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(
            f"the {kind} id {value!r} is empty"
            if not value
            else f"the {kind} id {value!r} is only white space",
            hint=f"give the exact {kind} id as stored (shopguide export-user ID shows its rows)",
        )
        self.kind = kind


class InputError(ShopGuideError, ValueError):
    """An argument or option has a value that cannot be used as given."""


class UnknownNameError(InputError):
    """A name (of a table, an engine, a mode, ...) that is not one of ``choices``; the hint
    suggests the closest one."""

    def __init__(self, name: str, choices: Sequence[str], *, what: str) -> None:
        close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
        self.suggestion = close[0] if close else None
        hint = f"did you mean {self.suggestion!r}? " if self.suggestion else ""
        super().__init__(
            f"unknown {what} {name!r}", hint=f"{hint}choose one of {', '.join(choices)}"
        )
        self.name = name
        self.choices = list(choices)


class UnknownModelError(UnknownNameError):
    """A model name that is not one of ``choices``; suggests the closest one."""

    def __init__(self, name: str, choices: Sequence[str]) -> None:
        super().__init__(name, choices, what="model")


class ParameterError(InputError):
    """A model parameter that the model does not take, or a value of the wrong type."""


class DateError(InputError):
    """A date or time that cannot be read."""

    def __init__(self, value: str, what: str = "date") -> None:
        super().__init__(
            f"cannot read {value!r} as a {what}",
            hint="write it in ISO 8601, e.g. 2024-05-01 or 2024-05-01T12:00",
        )
        self.value = value


class NotFittedError(ShopGuideError, AttributeError):
    """A model method that needs a fitted model was called before ``fit``."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"this {model} is not fitted yet", hint=f"call {model}.fit(...) before using it"
        )


class NotBoundError(NotFittedError):
    """A call on external ids (``recommend_users``) to a model not bound to interactions."""

    def __init__(self, model: str) -> None:
        ShopGuideError.__init__(
            self,
            f"this {model} is not bound to interactions, so it cannot translate external ids",
            hint=f"fit it on an Interactions, or call {model}.bind(interactions) first",
        )


class UnknownIdError(ShopGuideError, KeyError):
    """An external user or item id is not known."""

    def __init__(self, kind: str, ids: Sequence[str]) -> None:
        shown = ", ".join(repr(i) for i in list(ids)[:5])
        more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
        super().__init__(f"unknown {kind} id(s): {shown}{more}")
        self.kind = kind
        self.ids = list(ids)

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return self.message


class JobConflictError(ShopGuideError):
    """A job of the same kind (training the same model, say) is already queued or running."""

    def __init__(self, kind: str, job_id: str) -> None:
        super().__init__(
            f"a {kind} job is already running: {job_id}",
            hint=f"wait for it (GET /v1/jobs/{job_id}) and send the request again",
        )
        self.kind = kind
        self.job_id = job_id


class ModelFormatError(ShopGuideError):
    """A saved model has a missing file or an unsupported format version."""


class NoCurrentModelError(ModelFormatError):
    """The store has no current model, and no ``--model NAME`` said which one to use."""

    def __init__(self, store: str) -> None:
        super().__init__(
            f"the store {store} has no current model",
            hint="publish one with `shopguide compare` (evaluates every model and makes the "
            "best current) or `shopguide train MODEL`, or name one with --model NAME",
        )


class MemoryBudgetError(ShopGuideError):
    """A model would need more memory than the budget allows and has no cheaper variant."""
