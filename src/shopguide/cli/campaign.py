"""Campaign commands: ``campaign score|audience|export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from shopguide.targeting.campaign import Campaign
from shopguide.targeting.wording import describe_exclusions, describe_lift

NameArg = Annotated[str, typer.Argument(help="A name for the campaign (used for files).")]
Items = Annotated[list[str] | None, typer.Option("--item", help="Promoted item id (repeatable).")]
Categories = Annotated[
    list[str] | None, typer.Option("--category", help="Promoted category or path prefix.")
]
Brands = Annotated[list[str] | None, typer.Option("--brand", help="Promoted brand (repeatable).")]
Discount = Annotated[
    float, typer.Option(min=0.0, max=1.0, help="Discount as a fraction (0.2 = 20 % off).")
]
Model = Annotated[
    str | None,
    typer.Option(
        help="Published recommender whose scores feed the propensity (default: the store's "
        "current model; '' for none).",
        show_default=False,
    ),
]


def _recommender_line(used: dict[str, object]) -> str:
    """The audit record's recommender part in words."""
    if used.get("used"):
        return f"recommender: {used['model']} {used['version']} ({used['reason']})"
    return f"recommender: none ({used['reason']})"


def _campaign(name: str, items: list[str] | None, categories: list[str] | None,
              brands: list[str] | None, discount: float, **limits: object) -> Campaign:  # fmt: skip
    return Campaign(
        name, items=tuple(items or ()), categories=tuple(categories or ()),
        brands=tuple(brands or ()), discount=discount, **limits,  # type: ignore[arg-type]
    )  # fmt: skip


campaign_app = typer.Typer(help="Marketing-campaign targeting (营销活动定向).")


@campaign_app.command("score")
def score(
    name: NameArg,
    item: Items = None,
    category: Categories = None,
    brand: Brands = None,
    discount: Discount = 0.0,
    model: Model = None,
    limit: Annotated[int, typer.Option(min=0, help="Rows to show.")] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every buyer's propensity to respond, with the features behind it."""
    from shopguide.store import open_store
    from shopguide.workflows.campaigns import score_campaign

    with handled(as_json), open_store(db_path(db), create=False) as store:
        campaign = _campaign(name, item, category, brand, discount)
        features, scores, _, used = score_campaign(store, campaign, model=model)
    table = features.join(scores).sort_values("score", ascending=False).reset_index()
    if as_json:
        emit_json(frame_records(table.head(limit)))
    else:
        out.print(_recommender_line(used), highlight=False)
        print_table(table.head(limit).round(3), title=f"{name}: propensity")


@campaign_app.command("audience")
def audience(
    name: NameArg,
    item: Items = None,
    category: Categories = None,
    brand: Brands = None,
    discount: Discount = 0.0,
    size: Annotated[int | None, typer.Option(min=1, help="Most users to contact.")] = None,
    budget: Annotated[float | None, typer.Option(min=0.0, help="Budget (with --cost).")] = None,
    cost: Annotated[float, typer.Option(min=0.0, help="Cost of one contact.")] = 1.0,
    opt_out: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="File of opted-out user ids, one per line."),
    ] = None,
    exclude_contacted_days: Annotated[
        int | None, typer.Option(min=0, help="Skip users contacted in the last N days.")
    ] = None,
    exclude_bought_days: Annotated[
        int | None, typer.Option(min=0, help="Skip users who bought a promoted item in N days.")
    ] = None,
    model: Model = None,
    out_dir: Annotated[
        Path, typer.Option("--out", callback=check_folder, help="Folder for NAME.csv/json.")
    ] = Path("audiences"),
    record: Annotated[
        bool, typer.Option(help="Log the contacts (for --exclude-contacted-days later).")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Choose the audience under the constraints, explain it and export CSV + JSON."""
    from shopguide.store import open_store
    from shopguide.workflows.campaigns import build_audience

    with handled(as_json), open_store(db_path(db), create=False) as store:
        opted = tuple(opt_out.read_text().split()) if opt_out else ()
        campaign = _campaign(
            name, item, category, brand, discount, audience_size=size, budget=budget,
            cost_per_contact=cost, opted_out=opted,
            exclude_contacted_days=exclude_contacted_days,
            exclude_bought_days=exclude_bought_days,
        )  # fmt: skip
        chosen, files = build_audience(store, campaign, model=model, out_dir=out_dir, record=record)
    summary = {**chosen.summary(), "files": files}
    if as_json:
        emit_json(summary)
        return
    out.print(
        f"[bold]{name}[/]: {summary['size']:,} of {summary['eligible']:,} eligible users; "
        f"summed propensity {summary['expected_responses']:.1f} vs "
        f"{summary['random_expected_responses']:.1f} for a random audience "
        f"({describe_lift(summary['expected_lift'])}); excluded: "
        f"{describe_exclusions(summary['excluded'])}",
        highlight=False,
    )
    out.print(_recommender_line(summary["recommender"]), highlight=False)
    print_table(chosen.users.head(10).round(3), title="top of the audience")
    out.print(f"exported: {files['csv']} and {files['json']}")
    out.print(f"stored as audience {files['audience_id']} (shopguide report shows it)")


@campaign_app.command("export")
def export(
    audience_id: Annotated[str, typer.Argument(help="Id of an audience saved by the service.")],
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")] = Path(
        "audience.csv"
    ),
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export an audience saved by the service (or dashboard) to CSV."""
    from shopguide.store import open_store
    from shopguide.workflows.audiences import load_audience

    with handled(as_json), open_store(db_path(db), create=False) as store:
        frame = load_audience(store, audience_id)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out_file, index=False)
    if as_json:
        emit_json({"users": len(frame), "path": str(out_file)})
    else:
        out.print(f"wrote {len(frame):,} users to {out_file}")


def register(app: typer.Typer) -> None:
    """Add the campaign commands to ``app``."""
    app.add_typer(campaign_app, name="campaign")
