"""How a purchase model fitted on a calibration period predicts the holdout after it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopguide.errors import DataError
from shopguide.retention.btyd.bgnbd import BetaGeoModel
from shopguide.retention.btyd.pareto_nbd import ParetoNBDModel


def holdout_comparison(
    model: BetaGeoModel | ParetoNBDModel,
    summary: pd.DataFrame,
    max_bin: int = 7,
) -> pd.DataFrame:
    """Predicted vs actual holdout transactions, per calibration-frequency bin and in total.

    ``summary`` is :func:`rfm_summary` output with ``observation_end`` set. Rows are the
    calibration frequencies 0..max_bin-1 and ``f"{max_bin}+"``, plus ``"total"``; columns
    ``customers``, ``actual`` and ``predicted`` (sums of holdout transactions) and
    ``actual_mean``, ``predicted_mean`` (per customer).
    """
    needed = {"frequency", "recency", "T", "frequency_holdout", "duration_holdout"}
    if not needed <= set(summary.columns):
        raise DataError(
            "holdout_comparison needs an rfm_summary with observation_end set",
            hint="call rfm_summary(..., observation_end=...)",
        )
    horizon = float(summary["duration_holdout"].iloc[0])
    pred = model.conditional_expected_purchases(
        horizon, summary["frequency"], summary["recency"], summary["T"]
    )
    freq = summary["frequency"].to_numpy()
    labels = np.where(freq >= max_bin, f"{max_bin}+", freq.astype(int).astype(str))
    df = pd.DataFrame(
        {"bin": labels, "actual": summary["frequency_holdout"].to_numpy(), "predicted": pred}
    )
    order = [str(i) for i in range(max_bin)] + [f"{max_bin}+"]
    table = df.groupby("bin").agg(
        customers=("actual", "size"), actual=("actual", "sum"), predicted=("predicted", "sum")
    )
    table = table.reindex([b for b in order if b in table.index])
    table.loc["total"] = [len(df), df["actual"].sum(), df["predicted"].sum()]
    table["customers"] = table["customers"].astype("int64")
    table["actual_mean"] = table["actual"] / table["customers"]
    table["predicted_mean"] = table["predicted"] / table["customers"]
    table.index.name = "calibration_frequency"
    return table
