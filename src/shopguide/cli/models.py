"""Model commands: ``train``, ``recommend``, ``similar``, ``evaluate``, ``tune``, ``compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from shopguide.cli._common import (
    DbOption,
    JsonOption,
    check_folder,
    check_time,
    db_path,
    emit_json,
    err,
    frame_records,
    handled,
    out,
    print_table,
)
from shopguide.cli.fit_budget import MemoryBudgetOption, budget_bytes, eta_bar
from shopguide.cli.fit_budget import note as budget_note
from shopguide.errors import ParameterError
from shopguide.recommend.catalogue import MODEL_NAMES

ModelArg = Annotated[
    str,
    typer.Argument(
        # from the catalogue, so a new model is never missing from the help
        help=f"{', '.join(MODEL_NAMES[:-1])} or {MODEL_NAMES[-1]}.",
        show_default=False,
    ),
]
ServedModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="A published model to use instead of the store's current one (set by compare "
        "and train).",
        show_default=False,
    ),
]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", help="Model parameter NAME=VALUE (repeatable).")
]
TestDaysOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Days at the end held out for the test (default: 10 % of the data's span, "
        "at least 1).",
        show_default=False,
    ),
]


def _value(text: str) -> Any:
    """A parameter value: JSON when it parses (numbers, true/false, null), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``["k=50", "similarity=cosine"]`` as a dict with typed values."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ParameterError(
                f"bad parameter {pair!r}", hint="write it as NAME=VALUE, e.g. k=50"
            )
        params[name.strip()] = _value(value.strip())
    return params


def parse_grid(pairs: list[str] | None) -> dict[str, list[Any]]:
    """``["k=10,20,50", "n=5,10"]`` as a search grid."""
    grid: dict[str, list[Any]] = {}
    for pair in pairs or []:
        name, sep, values = pair.partition("=")
        if not sep or not values:
            raise ParameterError(
                f"bad grid entry {pair!r}", hint="write it as NAME=V1,V2,..., e.g. k=10,20"
            )
        grid[name.strip()] = [_value(v.strip()) for v in values.split(",")]
    return grid


def train(
    model: ModelArg,
    param: ParamOption = None,
    keep: Annotated[
        int | None,
        typer.Option(
            help="Versions of the model to keep after publishing (the newest; the current "
            "one stays too). Default: $SHOPGUIDE_KEEP_VERSIONS, else 5.",
            min=1,
            show_default=False,
        ),
    ] = None,
    current: Annotated[
        bool,
        typer.Option(
            "--current/--no-current",
            help="Make the new version the store's current model, which recommend, "
            "similar, campaign, winback and serve use (--no-current: publish only; use it "
            "with --model NAME).",
        ),
    ] = True,
    memory_budget: MemoryBudgetOption = None,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto",
            help="Choose the model's key parameters first, on a validation window carved from "
            "the end of the events (search spaces: docs/howto/tune.md; --param values are kept "
            "as given); the search and the choice are stored with the model.",
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit a recommender on all events, publish it and make it the store's current model."""
    from shopguide.config import get_settings
    from shopguide.recommend.saved import RecommenderStore
    from shopguide.store import open_store
    from shopguide.workflows.auto_tune import tune_for_training, tuned_line
    from shopguide.workflows.budget import plan_training
    from shopguide.workflows.publishing import publish_current

    with handled(as_json), eta_bar(f"training {model}", enabled=not as_json) as ticker:
        params = parse_params(param)
        path = db_path(db)
        budget = budget_bytes(memory_budget)
        model_store = RecommenderStore.for_store(path)
        tuning: dict[str, Any] | None = None
        binary = False
        with open_store(path, create=False) as store:
            plan = plan_training(store, model, params, budget)
            budget_note(plan.message, enabled=not as_json and bool(plan.message))
            if auto:
                tuned = tune_for_training(
                    store, plan.model.model_name, {**_kept(plan), **params}, fixed=list(params),
                    budget_bytes=budget, progress=lambda text, done, total: ticker.tuning(
                        text, done, total, share=0.4),
                )  # fmt: skip
                tuning, binary = tuned.to_dict(), tuned.binary
                for text in tuned.notes:
                    budget_note(f"{model}: {text}", enabled=not as_json)
                plan = plan_training(store, plan.model.model_name, tuned.params, budget)
            model, params = plan.model.model_name, plan.model.get_params()
            version = publish_current(
                store, model_store, model, params, make_current=current, binary=binary,
                meta={"tuning": tuning} if tuning else None,
                progress=lambda fraction, text: ticker.step(fraction, text, plan.cost),
            )  # fmt: skip
        pruned = model_store.prune(
            model, keep if keep is not None else get_settings().keep_versions
        )
    result = {
        "model": model, "version": version, "params": params, "current": current,
        "pruned": pruned, "plan": plan.to_dict(), "tuning": tuning,
    }  # fmt: skip
    if as_json:
        emit_json(result)
    else:
        if tuning is not None:
            out.print(tuned_line(tuning), highlight=False, soft_wrap=True)
        note = "now the store's current model" if current else "not made current"
        out.print(f"published {model} {version} ({note})")
        if pruned:
            out.print(f"deleted {len(pruned)} older version(s): {', '.join(pruned)}")


def _kept(plan: Any) -> dict[str, Any]:
    """The parameters a budget adaptation chose (``ease-large``'s dense head), the start of
    the search (which varies only the searched ones)."""
    return plan.model.get_params() if plan.action == "adapted" else {}


def recommend(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many items.")] = 10,
    model: ServedModelOption = None,
    explain: Annotated[bool, typer.Option("--explain", help="Say why each item.")] = False,
    category: Annotated[
        list[str] | None, typer.Option(help="Only these categories (repeatable).")
    ] = None,
    exclude_category: Annotated[
        list[str] | None, typer.Option(help="Never these categories (repeatable).")
    ] = None,
    min_price: Annotated[float | None, typer.Option(help="Lowest price.")] = None,
    max_price: Annotated[float | None, typer.Option(help="Highest price.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Top-N items for a user from the store's current model, with business rules."""
    from shopguide.recommend.saved import RecommenderStore
    from shopguide.store import open_store
    from shopguide.workflows.current_model import open_snapshot
    from shopguide.workflows.serving.answers import recommend_for_user

    with handled(as_json):
        path = db_path(db)
        with open_store(path, create=False) as store:
            snapshot = open_snapshot(store, RecommenderStore.for_store(path), model)
        items, strategy = recommend_for_user(
            snapshot, user_id, n, include_categories=category or (),
            exclude_categories=exclude_category or (), min_price=min_price,
            max_price=max_price, explanations=explain,
        )  # fmt: skip
    rows = [item.__dict__ for item in items]
    if as_json:
        emit_json({"user_id": user_id, "model": snapshot.name, "version": snapshot.version,
                   "strategy": strategy, "items": rows})  # fmt: skip
        return
    out.print(f"[bold]{user_id}[/] · {snapshot.name} {snapshot.version} · {strategy}")
    for rank, item in enumerate(items, start=1):
        out.print(
            f"{rank:>3}. {item.item_id:<10} {item.title or '':<40.40} "
            f"{item.category or '':<22.22} {item.score:8.3f}",
            highlight=False,
            soft_wrap=True,
        )
        if explain and item.reason:
            out.print(f"       [dim]{item.reason}[/]", highlight=False, soft_wrap=True)


def similar(
    item_id: Annotated[str, typer.Argument(help="The item's id.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many items.")] = 10,
    model: ServedModelOption = None,
    together: Annotated[
        bool, typer.Option("--together", help="Frequently bought together instead.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Items similar to an item ("customers who bought this also bought")."""
    from shopguide.recommend.saved import RecommenderStore
    from shopguide.store import open_store
    from shopguide.workflows.current_model import open_snapshot
    from shopguide.workflows.serving.answers import similar_items, together_items

    with handled(as_json):
        path = db_path(db)
        with open_store(path, create=False) as store:
            snapshot = open_snapshot(store, RecommenderStore.for_store(path), model)
        rows = (together_items if together else similar_items)(snapshot, item_id, n)
    if as_json:
        emit_json({"item_id": item_id, "model": snapshot.name, "version": snapshot.version,
                   "items": rows})  # fmt: skip
    else:
        import pandas as pd

        source = "orders" if together else f"{snapshot.name} {snapshot.version}"
        print_table(
            pd.DataFrame(rows),
            title=f"{'bought with' if together else 'like'} {item_id} ({source})",
        )


def evaluate(
    model: ModelArg,
    param: ParamOption = None,
    test_days: TestDaysOption = None,
    cut: Annotated[
        str | None, typer.Option(callback=check_time, help="Explicit cut date (ISO 8601).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score one model on a temporal split (precision, recall, NDCG, MAP, hit rate, ...)."""
    from shopguide.workflows.modelling import evaluate as run

    with handled(as_json):
        result = run(db_path(db), model, parse_params(param), test_days=test_days, cut=cut)
    if as_json:
        emit_json({"split": result["split"], "metrics": frame_records(result["metrics"])})
    else:
        out.print(result["split"], highlight=False)
        print_table(result["metrics"].T.reset_index().round(4), title=model)


def tune(
    model: ModelArg,
    grid: Annotated[
        list[str] | None, typer.Option(help="NAME=V1,V2,... e.g. k=10,20,50 or n=5,10,20.")
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(min=2, help="K folds over users (default: rolling time windows)."),
    ] = None,
    windows: Annotated[int, typer.Option(min=1, help="Rolling time windows when no --folds.")] = 3,
    test_days: TestDaysOption = None,
    out_dir: Annotated[
        Path,
        typer.Option("--out", callback=check_folder, help="Folder for the plots and JSON."),
    ] = Path("tuning"),
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cross-validate K and N (or any parameter) and report mean, spread and the best."""
    from shopguide.workflows.modelling import tune_model

    with handled(as_json):
        search = parse_grid(grid) or {"k": [10, 20, 50, 100, 200], "n": [5, 10, 20]}

        def note(text: str) -> None:
            if not as_json:
                err.print(f"[dim]{text}[/]", highlight=False)

        result = tune_model(
            db_path(db), model, search, folds=folds, windows=windows, test_days=test_days,
            out_dir=out_dir, progress=note,
        )  # fmt: skip
    if as_json:
        emit_json(result.to_dict())
    else:
        print_table(result.summary.round(4), title=f"{model}: mean and std over splits")
        best = ", ".join(f"{k} = {v}" for k, v in result.best_params.items())
        out.print(f"best: {best} → {result.metric} {result.best_score:.4f}")
        out.print(f"plots and JSON in {out_dir}")


def compare(
    model: Annotated[
        list[str] | None, typer.Option(help="Models to compare (default: all).")
    ] = None,
    test_days: TestDaysOption = None,
    out_dir: Annotated[
        Path, typer.Option("--out", callback=check_folder, help="Folder for the evidence.")
    ] = Path("comparison"),
    publish: Annotated[
        bool,
        typer.Option(
            help="Publish the winner (refitted on all events) as the store's current model; "
            "on a tie, the simplest tied model."
        ),
    ] = True,
    memory_budget: MemoryBudgetOption = None,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto/--no-auto",
            help="First choose each model's key parameters on a validation window carved from "
            "the end of the training period (never the test); --no-auto uses the defaults.",
        ),
    ] = True,
    time_budget: Annotated[
        str,
        typer.Option(
            "--time-budget",
            help="Time to plan for, e.g. 20min, 1h or 'none'. A model whose one fit is "
            "estimated above a quarter of it is skipped, and tuning searches on a sample of "
            "users when searching on all of them would take longer than 40 % of it.",
        ),
    ] = "20min",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate every model on the same split, save the evidence and publish the best.

    By default each model's key parameters are first chosen on a validation window at the end
    of the training period; each winner is then refitted on the whole training period and
    tested. The best model's NDCG@10 margin over the runner-up comes with a 95 % paired
    bootstrap interval over the test users; when it contains 0 the result is a tie and the
    simplest tied model is published."""
    from shopguide.cli.fit_budget import TUNING_SHARE
    from shopguide.workflows.auto_tune import sampling_notes, tuned_line
    from shopguide.workflows.budget import PlannedModels
    from shopguide.workflows.modelling import COMPARED_BY_DEFAULT
    from shopguide.workflows.modelling import compare as run
    from shopguide.workflows.time_budget import seconds_or_none

    with handled(as_json), eta_bar("comparing", enabled=not as_json) as ticker:
        plans: dict[str, Any] = {}

        def on_plan(planned: PlannedModels) -> None:
            plans.update(planned.to_dict())
            ticker.plan(planned, quiet=as_json, start=TUNING_SHARE if auto else 0.0)

        result = run(
            db_path(db), model or COMPARED_BY_DEFAULT, test_days=test_days, out_dir=out_dir,
            publish=publish, memory_budget=budget_bytes(memory_budget),
            on_plan=on_plan, auto=auto, on_tuning=ticker.tuning,
            progress=ticker.model_started, time_budget=seconds_or_none(time_budget),
        )  # fmt: skip
    if as_json:
        emit_json({**result.evidence(), "budget": plans})
    else:
        out.print(result.split_description, highlight=False)
        for text in sampling_notes(result.tuning):
            out.print(text, highlight=False, soft_wrap=True)
        for record in result.tuning.values():
            out.print(tuned_line(record), highlight=False, soft_wrap=True)
        out.print(result.to_markdown(10), highlight=False, markup=False, soft_wrap=True)
        out.print(result.verdict(), highlight=False)
        action = f"published {result.chosen} as the current model" if publish else "not published"
        out.print(f"{action}; evidence in {out_dir}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the model commands to ``app``."""
    app.command()(train)
    app.command()(recommend)
    app.command()(similar)
    app.command()(evaluate)
    app.command()(tune)
    app.command()(compare)
