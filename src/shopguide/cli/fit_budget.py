"""The ``--memory-budget`` option, budget notes and progress with an ETA for model fits.

The ETA comes from the models' own cost estimates (:mod:`shopguide.recommend.cost`): while a
model fits, the bar advances with the elapsed time against its estimate (stopping short of
the end until the fit really ends), so a long fit shows how far along it probably is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from shopguide.cli._common import err, progress_bar
from shopguide.recommend.cost import Cost, parse_bytes
from shopguide.workflows.budget import PlannedModels

__all__ = ["EtaTicker", "MemoryBudgetOption", "budget_bytes", "eta_bar", "note"]

MemoryBudgetOption = Annotated[
    str | None,
    typer.Option(
        "--memory-budget",
        help="Memory a model fit may use, e.g. 4GB or 40% (default: $SHOPGUIDE_MEMORY_BUDGET, "
        "else half the machine's memory). Models estimated above it are adapted (ease -> "
        "ease-large) or skipped, with the reason.",
        show_default=False,
    ),
]


#: Share of the ``compare`` bar given to automatic tuning (it tries several points per model
#: where the comparison fits each model once).
TUNING_SHARE = 0.75

#: Where the training workflow's fitting step ends (its next step, publishing, starts there).
FIT_STEP_END = 0.85


def budget_bytes(text: str | None) -> int | None:
    """The option's value in bytes (``None``: the default budget)."""
    return None if text is None else parse_bytes(text)


def note(text: str, *, enabled: bool = True) -> None:
    """A budget message on standard error."""
    if enabled:
        err.print(f"[yellow]{text}[/]", highlight=False, soft_wrap=True)


class EtaTicker:
    """Moves a ``(done, total)`` bar from ``lo`` towards ``hi`` over ``seconds``."""

    STEPS = 1000

    def __init__(self, update: Callable[[int, int], None]) -> None:
        self.update = update
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._segments: dict[str, tuple[float, float, float]] = {}

    def start(self, lo: float, hi: float, seconds: float) -> None:
        """Advance from fraction ``lo`` to at most 99 % of the way to ``hi``."""
        self.stop()
        self._stop = threading.Event()
        began = time.perf_counter()
        stop = self._stop

        def run() -> None:
            while not stop.wait(0.25):
                share = min(0.99, (time.perf_counter() - began) / max(seconds, 0.1))
                self.update(int((lo + (hi - lo) * share) * self.STEPS), self.STEPS)

        self.update(int(lo * self.STEPS), self.STEPS)
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def step(self, fraction: float, text: str, cost: Cost) -> None:
        """A ``(fraction, step)`` callback of the training workflow: the fitting step
        advances with the elapsed time against the estimate."""
        self.stop()
        if text.startswith("fitting"):
            self.start(fraction, FIT_STEP_END, cost.seconds)
        else:
            self.update(int(fraction * self.STEPS), self.STEPS)

    def plan(self, planned: PlannedModels, *, quiet: bool = False, start: float = 0.0) -> None:
        """Show the budget notes of a comparison and lay the models out along the bar, from
        ``start`` (the part before it is the automatic tuning's, see :meth:`tuning`)."""
        for text in planned.notes:
            note(text, enabled=not quiet)
        total = (sum(max(c.seconds, 1.0) for c in planned.costs.values()) or 1.0) / (1 - start)
        at = start
        self._segments = {}
        for label, cost in planned.costs.items():
            width = max(cost.seconds, 1.0) / total
            self._segments[label] = (at, at + width, cost.seconds)
            at += width

    def tuning(self, _text: str, done: int, total: int, share: float = TUNING_SHARE) -> None:
        """Automatic tuning has tried ``done`` of ``total`` search points: it fills the first
        ``share`` of the bar."""
        self.stop()
        self.update(int(share * done / max(total, 1) * self.STEPS), self.STEPS)

    def model_started(self, label: str) -> None:
        """A comparison starts fitting ``label``: advance through its segment."""
        lo, hi, seconds = self._segments.get(label, (0.0, 0.0, 0.0))
        self.start(lo, hi, seconds)

    def stop(self) -> None:
        """Stop advancing (the caller sets the next position)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


@contextmanager
def eta_bar(description: str, *, enabled: bool = True) -> Iterator[EtaTicker]:
    """A progress bar on standard error driven by an :class:`EtaTicker`."""
    with progress_bar(description, enabled=enabled) as update:
        ticker = EtaTicker(update)
        try:
            yield ticker
        finally:
            ticker.stop()
