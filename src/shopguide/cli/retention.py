"""Retention commands: ``churn train|score``, ``clv``, ``winback``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from shopguide.cli._common import (
    DbOption,
    JsonOption,
    check_folder,
    db_path,
    emit_json,
    frame_records,
    handled,
    out,
    print_table,
)

HorizonOption = Annotated[int, typer.Option(min=1, help="Churn = no purchase in this many days.")]


def _shown(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` of stored predictions as printed: rounded, and an empty P(alive) with a
    note (see ``shopguide.retention.btyd.value``) as "not informative"."""
    shown = table[columns].round(3).astype(object)
    if "value_note" in table.columns and "p_alive" in shown.columns:
        why = table["p_alive"].isna() & table["value_note"].notna()
        shown.loc[why, "p_alive"] = "not informative*"
    return shown


def _print_notes(table: pd.DataFrame) -> None:
    """Print each distinct reason why P(alive) is not informative once, under the table."""
    if "value_note" not in table.columns:
        return
    for note in table["value_note"].dropna().unique():
        out.print(f"* {note}", highlight=False, soft_wrap=True)


churn_app = typer.Typer(help="Churn risk (no purchase in the next T days) per buyer.")


def _score(db: Path | None, horizon: int | None, as_json: bool, train: bool) -> None:
    from shopguide.workflows.retention import score_retention

    with handled(as_json):
        result = score_retention(db_path(db), horizon_days=horizon, train=train)
    if as_json:
        emit_json(result)
        return
    done = "trained and saved" if result["trained"] else "loaded"
    where = result["model_file"] or "memory"
    if result.get("model_version"):
        where = f"version {result['model_version']}, {where}"
    out.print(
        f"{done} the churn model ({where}); scored {result['users']:,} buyers as of "
        f"{result['as_of']} for a {result['horizon_days']}-day horizon (trained on the "
        f"window after {result.get('train_cutoff', '?')}: churn rate "
        f"{result.get('train_churn_rate', float('nan')):.0%}, in-sample AUC "
        f"{result.get('train_auc_model', float('nan')):.3f} vs recency "
        f"{result.get('train_auc_recency', float('nan')):.3f}); see: shopguide churn list",
        highlight=False,
    )
    fit = result.get("purchase_model") or {}
    if fit.get("degenerate"):
        out.print(
            f"purchase model {fit['model']}: P(alive) not informative: "
            + "; ".join(fit["reasons"])
            + ". Lifetime value uses the churn risk instead.",
            highlight=False,
        )


@churn_app.command("train")
def train(horizon: HorizonOption = 90, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Train the churn model, save it and store every buyer's score.

    Trains on the latest fully observed window and saves the model as the next version in
    models/churn/ next to the store (older versions beyond $SHOPGUIDE_KEEP_VERSIONS, else
    5, are deleted), which `churn score` and the service then load.
    """
    _score(db, horizon, as_json, train=True)


@churn_app.command("score")
def score(
    horizon: Annotated[
        int | None,
        typer.Option(min=1, help="Must match the saved model's horizon (default: the model's)."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score every buyer's churn risk and value with the saved churn model.

    Loads the current version in models/churn/ (trains and saves one first if there is
    none) and stores each buyer's churn probability, reasons and lifetime value in their
    profile.
    """
    _score(db, horizon, as_json, train=False)


@churn_app.command("list")
def churn_list(
    limit: Annotated[int, typer.Option(min=0, help="Rows to show.")] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Buyers by churn risk, with the reasons and their value."""
    from shopguide.store import open_store
    from shopguide.workflows.retention import predictions

    with handled(as_json), open_store(db_path(db), create=False) as store:
        table = predictions(store).head(limit)
    if as_json:
        emit_json(frame_records(table))
    else:
        columns = ["user_id", "churn_probability", "clv", "p_alive", "churn_reasons"]
        print_table(_shown(table, columns), title="churn risk")
        _print_notes(table)


def clv(
    limit: Annotated[int, typer.Option(min=0, help="Rows to show.")] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Lifetime value per buyer (BG/NBD + Gamma-Gamma), most valuable first."""
    from shopguide.store import open_store
    from shopguide.workflows.retention import predictions, score_store

    with handled(as_json), open_store(db_path(db), create=False) as store:
        if not store.scalar("SELECT count(*) FROM user_predictions"):
            score_store(store)
        table = predictions(store).sort_values("clv", ascending=False).head(limit)
    columns = ["user_id", "clv", "expected_purchases_90d", "p_alive", "expected_next_order"]
    if as_json:
        emit_json(frame_records(table[columns]))
    else:
        print_table(_shown(table, columns), title="customer lifetime value (52 weeks)")
        _print_notes(table)


def winback(
    model: Annotated[
        str | None,
        typer.Option(
            help="Published recommender to use (default: the store's current model).",
            show_default=False,
        ),
    ] = None,
    min_churn: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Lowest churn probability.")
    ] = 0.5,
    limit: Annotated[int, typer.Option(min=1, help="Most users in the audience.")] = 500,
    n: Annotated[int, typer.Option("-n", min=1, help="Items per user.")] = 5,
    out_dir: Annotated[
        Path, typer.Option("--out", callback=check_folder, help="Folder for winback.csv/json.")
    ] = Path("winback"),
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """At-risk, valuable buyers with the items most likely to bring them back."""
    from shopguide.store import open_store
    from shopguide.workflows.winback import winback_store

    with handled(as_json), open_store(db_path(db), create=False) as store:
        audience = winback_store(
            store, model=model, min_churn=min_churn, limit=limit, n=n, out_dir=out_dir
        )
    if as_json:
        emit_json({"users": len(audience), "out": str(out_dir)})
    else:
        out.print(f"{len(audience):,} users; written to {out_dir}/winback.csv and .json")


def register(app: typer.Typer) -> None:
    """Add the retention commands to ``app``."""
    app.add_typer(churn_app, name="churn")
    app.command()(clv)
    app.command()(winback)
