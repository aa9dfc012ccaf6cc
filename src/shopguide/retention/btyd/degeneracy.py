"""Does a BTYD fit say anything about who has left? Detect degenerate fits, choose by holdout.

BG/NBD and Pareto/NBD explain a buyer's silence by drop-out. On data where the likelihood
sees no drop-out (a year of a wholesaler's steady customers, say) the maximum-likelihood fit
runs the drop-out parameters to their limits (BG/NBD a → 0, Pareto/NBD s → 0): every buyer
then gets P(alive) = 100 % and lifetime value assumes nobody ever leaves, which contradicts any
churn model fitted on the same data. This module says when that happened:

- **parameters at a bound**: a parameter below 1e-4 or above 1e6 (the optimiser works on log
  parameters, so a quantity the data cannot pin down drifts towards 0 or infinity);
- **no drop-out**: the share of a typical new customer's cohort the model lets leave within
  the data's time span (:func:`dropout_share`) is below 1 %;
- **worse than a trivial baseline on held-out data**: fitted on the history up to a
  calibration date, the model predicts each buyer's purchases in the held-out weeks after it
  worse (mean absolute error) than "each buyer keeps their own past pace"
  (:func:`holdout_fit`).

:func:`choose_purchase_model` fits both models on a calibration/holdout split of the buyers'
history, keeps the one that predicts the holdout better, refits it on all the data and returns
it with its :class:`FitCheck`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy.special import betaln

from shopguide.errors import DataError
from shopguide.retention.btyd.bgnbd import BetaGeoModel
from shopguide.retention.btyd.pareto_nbd import ParetoNBDModel
from shopguide.retention.btyd.summary import rfm_summary

PurchaseModel = BetaGeoModel | ParetoNBDModel

#: Parameters outside [LOW, HIGH] count as run to a bound (time unit: weeks).
LOW_BOUND: Final = 1e-4
HIGH_BOUND: Final = 1e6
#: Below this share of a cohort leaving within the data's span the model sees no drop-out.
MIN_DROPOUT_SHARE: Final = 0.01
#: Fit penalty used for both models (as the rest of ShopGuide does).
PENALIZER: Final = 1e-4

MODEL_NAMES: Final = {"BetaGeoModel": "BG/NBD", "ParetoNBDModel": "Pareto/NBD"}


@dataclass(frozen=True)
class HoldoutFit:
    """How a model fitted on the calibration period predicts the held-out weeks after it.

    ``model_mae`` and ``baseline_mae`` are mean absolute errors of each buyer's purchase days
    in the holdout; the baseline predicts each buyer's own past pace (repeat purchase days per
    week of their calibration history, times the holdout length).
    """

    weeks: float
    customers: int
    actual: float
    predicted: float
    model_mae: float
    baseline_mae: float

    @property
    def beats_baseline(self) -> bool:
        """The model predicts the holdout at least as well as the own-pace baseline."""
        return self.model_mae <= self.baseline_mae


@dataclass(frozen=True)
class FitCheck:
    """What a fitted BTYD model can be trusted for; see the module docstring for the tests."""

    model: str
    params: dict[str, float]
    dropout_share: float
    at_bounds: tuple[str, ...]
    holdout: HoldoutFit | None = None
    candidates: dict[str, HoldoutFit] = field(default_factory=dict)

    @property
    def no_dropout(self) -> bool:
        """The model lets (almost) nobody leave within the data's span."""
        return not self.dropout_share >= MIN_DROPOUT_SHARE

    @property
    def degenerate(self) -> bool:
        """Any of the three signs: a bound, no drop-out, or worse than the baseline."""
        worse = self.holdout is not None and not self.holdout.beats_baseline
        return bool(self.at_bounds) or self.no_dropout or worse

    @property
    def reasons(self) -> list[str]:
        """Each sign found, in words."""
        out = []
        if self.no_dropout:
            out.append(
                f"the {self.model} fit finds no drop-out in this data (it lets "
                f"{100 * self.dropout_share:.1f} % of a cohort leave within the data's span), "
                "so it counts every buyer as still active"
            )
        if self.at_bounds:
            many = len(self.at_bounds) > 1
            out.append(
                f"{self.model} parameter{'s' if many else ''} {', '.join(self.at_bounds)} ran "
                f"to {'their limits' if many else 'its limit'}"
            )
        if self.holdout is not None and not self.holdout.beats_baseline:
            h = self.holdout
            out.append(
                f"on the last {h.weeks:.0f} weeks held out it predicts purchases worse than "
                f"assuming each buyer keeps their own pace (mean error {h.model_mae:.2f} against "
                f"{h.baseline_mae:.2f} purchase days per buyer)"
            )
        return out

    def note(self) -> str | None:
        """One sentence for wherever P(alive) or lifetime value is shown (None when sound):
        the main reason; :attr:`reasons` has them all."""
        if not self.degenerate:
            return None
        return f"P(alive) not informative: {self.reasons[0]}."

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: the model, its parameters, the verdict and the reasons."""
        return {
            "model": self.model,
            "params": dict(self.params),
            "degenerate": self.degenerate,
            "dropout_share": self.dropout_share,
            "at_bounds": list(self.at_bounds),
            "reasons": self.reasons,
            "holdout": None if self.holdout is None else asdict(self.holdout),
            "candidates": {k: asdict(v) for k, v in self.candidates.items()},
        }


def dropout_share(model: PurchaseModel, span: float) -> float:
    """Share of a typical new customer's cohort the model lets leave within ``span`` units.

    Pareto/NBD: lifetimes are exponential with a gamma(s, beta) rate, so the share is
    ``1 - (beta / (beta + span))^s``. BG/NBD: a buyer may leave after each purchase with a
    beta(a, b) probability p; a buyer at the mean rate r / alpha makes n = r / alpha * span
    purchases, and survives all of them with probability E[(1 - p)^n] = B(a, b + n) / B(a, b).
    """
    p = model._check_fitted()
    if isinstance(model, ParetoNBDModel):
        return float(1.0 - np.exp(p["s"] * (np.log(p["beta"]) - np.log(p["beta"] + span))))
    n = p["r"] / p["alpha"] * span
    return float(1.0 - np.exp(betaln(p["a"], p["b"] + n) - betaln(p["a"], p["b"])))


def check_fit(
    model: PurchaseModel,
    span: float,
    holdout: HoldoutFit | None = None,
    candidates: dict[str, HoldoutFit] | None = None,
) -> FitCheck:
    """The :class:`FitCheck` of a fitted model whose data spans ``span`` time units."""
    params = model._check_fitted()
    bounds = tuple(n for n, v in params.items() if not LOW_BOUND <= v <= HIGH_BOUND)
    return FitCheck(
        model=MODEL_NAMES[type(model).__name__],
        params=params,
        dropout_share=dropout_share(model, span),
        at_bounds=bounds,
        holdout=holdout,
        candidates=dict(candidates or {}),
    )


def holdout_fit(model: PurchaseModel, summary: pd.DataFrame) -> HoldoutFit:
    """Score a model fitted on the calibration part of ``summary`` on its holdout part.

    ``summary`` is :func:`~shopguide.retention.btyd.summary.rfm_summary` output with
    ``observation_end`` set (holdout columns present).
    """
    weeks = float(summary["duration_holdout"].iloc[0])
    x, rec, tt = summary["frequency"], summary["recency"], summary["T"]
    predicted = model.conditional_expected_purchases(weeks, x, rec, tt)
    actual = summary["frequency_holdout"].to_numpy(dtype="float64")
    pace = x.to_numpy(dtype="float64") / np.maximum(tt.to_numpy(dtype="float64"), 1.0) * weeks
    return HoldoutFit(
        weeks=weeks,
        customers=len(summary),
        actual=float(actual.sum()),
        predicted=float(predicted.sum()),
        model_mae=float(np.mean(np.abs(predicted - actual))),
        baseline_mae=float(np.mean(np.abs(pace - actual))),
    )


def _fit(kind: type[PurchaseModel], summary: pd.DataFrame) -> PurchaseModel:
    return kind(penalizer=PENALIZER).fit(summary["frequency"], summary["recency"], summary["T"])


def choose_purchase_model(
    transactions: pd.DataFrame,
    calibration_end: pd.Timestamp,
    *,
    holdout_share: float = 0.25,
    min_holdout_days: int = 28,
    min_customers: int = 30,
) -> tuple[PurchaseModel, FitCheck, pd.DataFrame]:
    """The BTYD model that predicts held-out purchases best, refitted on all the data.

    ``transactions`` has ``user_id``, ``timestamp`` and ``amount``. The last ``holdout_share``
    of the history up to ``calibration_end`` (at least ``min_holdout_days``) is held out; both
    BG/NBD and Pareto/NBD are fitted on the rest and compared on it. When the history is too
    short for a holdout (less than twice ``min_holdout_days``, or fewer than ``min_customers``
    buyers before the split), BG/NBD is used and the check has no holdout part.

    Returns the model fitted on all the data up to ``calibration_end``, its :class:`FitCheck`
    and the full :func:`~shopguide.retention.btyd.summary.rfm_summary` (weeks) it was fitted on.
    """
    cut = pd.Timestamp(calibration_end).floor("D")
    full = rfm_summary(
        transactions, "user_id", "timestamp", "amount", calibration_end=cut, time_unit="W"
    )
    if full.empty:
        raise DataError("no purchases to fit the purchase model on")
    first = pd.Timestamp(full["first_purchase"].min())
    span_days = (cut - first).days
    holdout_days = max(min_holdout_days, round(span_days * holdout_share))
    candidates: dict[str, HoldoutFit] = {}
    kind: type[PurchaseModel] = BetaGeoModel
    if span_days >= 2 * holdout_days:
        split = rfm_summary(
            transactions, "user_id", "timestamp", "amount", time_unit="W",
            calibration_end=cut - pd.Timedelta(days=holdout_days), observation_end=cut,
        )  # fmt: skip
        if len(split) >= min_customers:
            for option in (BetaGeoModel, ParetoNBDModel):
                candidates[MODEL_NAMES[option.__name__]] = holdout_fit(_fit(option, split), split)
            # Pareto/NBD only when clearly better: BG/NBD is cheaper and the two often tie
            bg, pn = candidates["BG/NBD"].model_mae, candidates["Pareto/NBD"].model_mae
            kind = ParetoNBDModel if pn < bg * (1.0 - 1e-3) else BetaGeoModel
    model = _fit(kind, full)
    chosen = candidates.get(MODEL_NAMES[kind.__name__])
    return model, check_fit(model, span_days / 7.0, chosen, candidates), full
