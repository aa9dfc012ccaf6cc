"""Report sections for what the models found: recommender comparison and tuning, campaign
audiences and uplift, churn risk and lifetime value. Each takes plain tables or arrays."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from shopguide.report.document import (
    Figure,
    Section,
    figure_svg,
    join_html,
    note_html,
    table_html,
)
from shopguide.targeting.metrics import qini_curve, uplift_by_decile
from shopguide.targeting.wording import describe_exclusions, describe_lift, describe_settings


def metric_text(value: Any) -> str:
    """A metric with four decimals (they differ in the third); blank when missing."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "" if value is None else str(value)
    return "" if np.isnan(number) else f"{number:.4f}"


def comparison_section(
    table: pd.DataFrame,
    primary: str,
    split: str,
    best: str,
    metric_columns: Sequence[str],
    verdict: str | None = None,
) -> Section:
    """Every model on the same split: the table and a bar chart of the primary metric;
    ``verdict`` is the comparison's sentence on the margin (winner or tie)."""
    shown = table[[c for c in metric_columns if c in table.columns]]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(shown) + 1.2))
    values = shown[primary].astype(float)
    colors = ["#2f7d32" if name == best else "#829ab1" for name in shown.index]
    ax.barh(list(shown.index)[::-1], values.to_numpy()[::-1], color=colors[::-1])
    ax.set_xlabel(primary)
    ax.set_title(f"Recommenders on the same split ({primary})")
    body = join_html(
        [
            note_html(split),
            f"<p>Serving model: <b>{html.escape(best)}</b> "
            f"({html.escape(verdict or 'highest ' + primary)}).</p>",
            table_html(
                shown.rename_axis("model"), name="comparison", index=True,
                formats=dict.fromkeys(shown.columns, metric_text),
            ),
        ]
    )  # fmt: skip
    return Section(
        "Recommendation: model comparison",
        html=body,
        figures=[figure_svg(fig, "comparison", "Best model in green.")],
        anchor="comparison",
    )


def tuning_section(
    summary: pd.DataFrame, metric: str, param: str, best: Mapping[str, Any]
) -> Section:
    """The metric against K (mean ± std over the splits) and against N."""
    figures: list[Figure] = []
    mean, std = f"{metric}_mean", f"{metric}_std"
    if param in summary.columns and mean in summary.columns:
        by_k = summary.groupby(param)[[mean, std]].max().sort_index()
        fig, ax = plt.subplots(figsize=(6, 3.2))
        ax.errorbar(by_k.index, by_k[mean], yerr=by_k[std], marker="o", capsize=3)
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} against {param} (mean ± std over splits)")
        best_text = ", ".join(f"{k} = {v}" for k, v in best.items())
        figures.append(figure_svg(fig, "tuning-k", f"Best setting: {best_text}"))
    cutoffs = sorted(
        {int(c.split("@")[1].split("_")[0]) for c in summary.columns if c.startswith("ndcg@")}
    )
    if len(cutoffs) > 1:
        row = summary.iloc[0]
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for name in ("ndcg", "recall", "precision"):
            points = [row.get(f"{name}@{n}_mean", np.nan) for n in cutoffs]
            ax.plot(cutoffs, points, marker="o", label=name)
        ax.set_xlabel("N (list length)")
        ax.set_title("Metrics against N for the best setting")
        ax.legend()
        figures.append(figure_svg(fig, "tuning-n", "Precision falls and recall rises with N."))
    columns = [c for c in summary.columns if not c.endswith("_std") or c == std][:8]
    body = table_html(
        summary[columns].head(15),
        name="tuning",
        formats={c: metric_text for c in columns if "@" in c},
    )
    return Section("Recommendation: choosing K and N", html=body, figures=figures, anchor="tuning")


def recommendations_section(examples: Sequence[Mapping[str, Any]]) -> Section:
    """A few users' recommendations with the reason for each item."""
    parts = []
    for example in examples:
        rows = pd.DataFrame(example["items"])[["item_id", "title", "score", "reason"]]
        parts.append(f"<h3>User {html.escape(str(example['user_id']))}</h3>")
        parts.append(table_html(rows, name=f"recs-{example['user_id']}"))
    return Section("Recommendations with explanations", html=join_html(parts), anchor="recs")


def churn_section(predictions: pd.DataFrame, segments: pd.DataFrame | None) -> Section:
    """Churn-risk distribution, and lifetime value by RFM segment."""
    figures = []
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(predictions["churn_probability"].dropna(), bins=20, color="#d64545")
    ax.set_xlabel("churn probability")
    ax.set_ylabel("buyers")
    ax.set_title("Churn risk")
    figures.append(figure_svg(fig, "churn-risk", "Distribution of buyers' churn probability."))
    body = [
        note_html(
            "Churn: no purchase in the 90 days after the scoring date; lifetime value: BG/NBD or "
            "Pareto/NBD (the better on held-out weeks) "
            "purchases times Gamma-Gamma spend over 52 weeks, discounted."
        )
    ]
    if "value_note" in predictions.columns:  # why P(alive) is not informative, once per reason
        body += [note_html(str(n)) for n in predictions["value_note"].dropna().unique()]
    if segments is not None and not segments.empty:
        by_segment = (
            predictions.merge(segments, on="user_id")
            .groupby("segment")[["clv", "churn_probability"]]
            .mean()
            .sort_values("clv", ascending=False)
        )
        fig, ax = plt.subplots(figsize=(6, 0.35 * len(by_segment) + 1))
        ax.barh(by_segment.index[::-1], by_segment["clv"][::-1], color="#2f7d32")
        ax.set_xlabel("mean CLV")
        ax.set_title("Lifetime value by segment")
        figures.append(figure_svg(fig, "clv-segment", "Mean predicted CLV per RFM segment."))
        body.append(table_html(by_segment.rename_axis("segment"), name="clv-segments", index=True))
    top = predictions.head(10)[["user_id", "churn_probability", "clv", "churn_reasons"]]
    body.append("<h3>Highest risk</h3>" + table_html(top, name="churn-top"))
    return Section("Retention: churn and lifetime value", html=join_html(body), figures=figures,
                   anchor="retention")  # fmt: skip


def _model_text(model: Any) -> str:
    """The audit record's recommender entry as a sentence ("Recommender used: ease v0003.").

    The entry is a name, or a mapping with ``name`` or ``model`` and ``version``; ``used``
    false means the score had no recommender part."""
    if isinstance(model, Mapping):
        if model.get("used") is False:
            reason = model.get("reason")
            return " No recommender part in the score" + (f": {reason}." if reason else ".")
        name = model.get("name") or model.get("model")
        if name:
            return f" Recommender used: {name} {model.get('version') or ''}".rstrip() + "."
    if isinstance(model, str) and model:
        return f" Recommender used: {model}."
    return ""


def audience_text(summary: Mapping[str, Any]) -> list[str]:
    """An audit record (:meth:`~shopguide.targeting.campaign.Audience.summary`) as HTML lines."""
    campaign = summary["campaign"]
    what = (
        "expected responses"
        if summary.get("scores_are_probabilities")
        else "summed propensity scores (a ranking score, not a response count)"
    )
    model_text = _model_text(summary.get("recommender") or summary.get("model"))
    lift = describe_lift(summary.get("expected_lift"))
    return [
        f"<p>Campaign <b>{html.escape(str(campaign['name']))}</b>: "
        f"{int(summary['size']):,} of {int(summary['eligible']):,} eligible users; {what} "
        f"{float(summary['expected_responses']):.1f} against "
        f"{float(summary['random_expected_responses']):.1f} for a random audience of the same "
        f"size ({html.escape(lift)}).{html.escape(model_text)}</p>",
        note_html(
            f"Excluded: {describe_exclusions(summary.get('excluded') or {})}. "
            f"Settings: {describe_settings(campaign)}."
        ),
    ]


def audience_section(
    summary: Mapping[str, Any], users: pd.DataFrame, *, title: str | None = None,
    anchor: str = "audience",
) -> Section:  # fmt: skip
    """A campaign audience: constraints, size, and its scores against a random audience."""
    lines = [*audience_text(summary), table_html(users.head(15), name=anchor)]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(np.arange(1, len(users) + 1), users["score"].cumsum(), label="chosen audience")
    random_rate = float(summary["random_expected_responses"]) / max(int(summary["size"]), 1)
    ax.plot([0, len(users)], [0, random_rate * len(users)], "--", label="random audience")
    ax.set_xlabel("users contacted")
    ax.set_ylabel("summed score")
    ax.legend()
    figure = figure_svg(fig, f"{anchor}-gain", "Summed propensity as the audience grows.")
    return Section(title or "Campaign targeting: audience", html=join_html(lines),
                   figures=[figure], anchor=anchor)  # fmt: skip


def uplift_section(
    title: str, scores: Mapping[str, np.ndarray], treatment: np.ndarray, outcome: np.ndarray,
    figures_table: pd.DataFrame,
) -> Section:  # fmt: skip
    """Qini curves and uplift by decile of held-out data from a randomised campaign."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, score in scores.items():
        x, y = qini_curve(score, treatment, outcome)
        ax.plot(x / x[-1], y, label=name)
    x, y = qini_curve(np.zeros(len(treatment)), treatment, outcome)
    ax.plot([0, 1], [0, y[-1]], "--", color="grey", label="random")
    ax.set_xlabel("share of users targeted")
    ax.set_ylabel("incremental responses")
    ax.set_title("Qini curves (held-out users)")
    ax.legend()
    first = next(iter(scores))
    deciles = uplift_by_decile(scores[first], treatment, outcome)
    fig2, ax2 = plt.subplots(figsize=(6, 3))
    ax2.bar(deciles.index.astype(str), deciles["uplift"], color="#2f7d32")
    ax2.axhline(float(np.mean(outcome[treatment == 1]) - np.mean(outcome[treatment == 0])),
                color="grey", linestyle="--")  # fmt: skip
    ax2.set_xlabel("score decile (1 = highest)")
    ax2.set_ylabel("uplift")
    ax2.set_title(f"Uplift by decile ({first})")
    formats: dict[str, Any] = dict.fromkeys(figures_table.columns[1:], metric_text)
    formats["n"] = lambda v: f"{int(v):,}"
    body = table_html(figures_table, name="uplift", formats=formats)
    return Section(
        title, html=body,
        figures=[figure_svg(fig, "qini", "Above the dashed line: better than random."),
                 figure_svg(fig2, "uplift-deciles", "Dashed: the average effect.")],
        anchor="uplift",
    )  # fmt: skip
