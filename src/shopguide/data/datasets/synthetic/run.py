"""Running the generator: streaming blocks in order, in memory, to Parquet, or into a store."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shopguide.columns import Columns
from shopguide.data.datasets.synthetic.config import (
    EVENT_SCHEMA,
    PRICE_SEGMENTS,
    UPLIFT_TYPES,
    SyntheticConfig,
    SyntheticData,
    SyntheticFiles,
    SyntheticTruth,
)
from shopguide.data.datasets.synthetic.simulation import (
    _finish_block,
    _generate_block,
)
from shopguide.data.datasets.synthetic.world import (
    _build_world,
    _World,
)
from shopguide.data.ingest import LoadReport, ingest_file, ingest_frame
from shopguide.errors import ConfigError
from shopguide.store import Store


class _Run:
    """Streams blocks in order, keeping the running id offsets and the truth accumulators."""

    def __init__(self, world: _World) -> None:
        self.world = world
        n_top, n_seg = world.funnel_p.shape[:2]
        self.funnel_counts = np.zeros((n_top, n_seg, 4))
        self.responded = np.zeros(len(world.asg_user), bool)
        self.n_events = 0

    def tables(self) -> Iterator[pa.Table]:
        world = self.world
        n_blocks = math.ceil(world.cfg.n_users / world.block_users)
        sessions = orders = 0
        for b in range(n_blocks):
            block = _generate_block(world, b)
            table = _finish_block(world, block, self.n_events, sessions, orders)
            sessions += block.n_sessions
            orders += block.n_orders
            self.n_events += table.num_rows
            self.funnel_counts += block.funnel_counts
            self.responded[block.responded] = True
            yield table

    def truth(self) -> SyntheticTruth:
        w = self.world
        rows = []
        for ti, top in enumerate(w.tops):
            for si, seg in enumerate(PRICE_SEGMENTS):
                p = w.funnel_p[ti, si]
                c = self.funnel_counts[ti, si]
                rows.append(
                    {
                        "category_top": top,
                        "price_segment": seg,
                        "p_click": p[0],
                        "p_cart": p[1],
                        "p_purchase": p[2],
                        "p_view_to_purchase": float(np.prod(p)),
                        "views": int(c[0]),
                        "clicks": int(c[1]),
                        "carts": int(c[2]),
                        "purchases": int(c[3]),
                    }
                )
        funnel = pd.DataFrame(rows).astype({"category_top": "str", "price_segment": "str"})
        assignments = pd.DataFrame(
            {
                Columns.USER_ID: w.user_ids.take(pa.array(w.asg_user, pa.int64())).to_pandas(),
                Columns.CAMPAIGN_ID: pd.array(
                    np.array(w.camp_ids or [""], dtype=object)[w.asg_camp], dtype="str"
                ),
                "treated": w.asg_treated,
                "uplift_type": pd.array(np.array(UPLIFT_TYPES)[w.asg_type], dtype="str"),
                "responded": self.responded,
            }
        )
        return SyntheticTruth(
            users=w.truth_users.copy(),
            items=w.truth_items.copy(),
            bundles=w.truth_bundles.copy(),
            campaigns=w.truth_campaigns.copy(),
            assignments=assignments,
            funnel=funnel,
            params=asdict(w.cfg),
        )


def _config(
    n_users: int,
    n_items: int,
    n_events: int,
    seed: int,
    start: str | pd.Timestamp,
    days: int,
    options: dict[str, Any],
) -> SyntheticConfig:
    known = set(SyntheticConfig.__dataclass_fields__)
    unknown = set(options) - known
    if unknown:
        raise ConfigError(
            f"unknown synthetic data option(s): {', '.join(sorted(unknown))}",
            hint=f"known options: {', '.join(sorted(known))}",
        )
    start_str = str(pd.Timestamp(start).date()) if isinstance(start, pd.Timestamp) else start
    return SyntheticConfig(
        n_users=n_users,
        n_items=n_items,
        n_events=n_events,
        seed=seed,
        start=start_str,
        days=days,
        **options,
    )


def iter_event_chunks(
    n_users: int = 1_000,
    n_items: int = 200,
    n_events: int = 50_000,
    seed: int = 0,
    start: str | pd.Timestamp = "2024-01-01",
    days: int = 180,
    **options: Any,
) -> Iterator[pa.Table]:
    """Yield the events as Arrow tables, one per block of users (same rows as :func:`generate`)."""
    cfg = _config(n_users, n_items, n_events, seed, start, days, options)
    yield from _Run(_build_world(cfg)).tables()


def generate(
    n_users: int = 1_000,
    n_items: int = 200,
    n_events: int = 50_000,
    seed: int = 0,
    start: str | pd.Timestamp = "2024-01-01",
    days: int = 180,
    **options: Any,
) -> SyntheticData:
    """Generate a synthetic data set in memory.

    Parameters
    ----------
    n_users, n_items
        Sizes of the user and item tables.
    n_events
        Target number of events; the result is within a few per cent of it.
    seed
        Everything is a function of the arguments and this seed.
    start, days
        The window of activity: ``[start, start + days)`` (``start`` is a date).
    **options
        Any other field of :class:`SyntheticConfig` (shares and probabilities of the planted
        rules).

    Returns
    -------
    SyntheticData
        ``users``, ``items``, ``events`` (canonical columns, sorted by user then time) and the
        planted ``truth``.
    """
    cfg = _config(n_users, n_items, n_events, seed, start, days, options)
    world = _build_world(cfg)
    run = _Run(world)
    tables = list(run.tables())
    events = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
    return SyntheticData(
        users=world.users_df.copy(),
        items=world.items_df.copy(),
        events=_events_to_pandas(events),
        truth=run.truth(),
    )


def _events_to_pandas(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas()
    df[Columns.TIMESTAMP] = df[Columns.TIMESTAMP].astype("datetime64[us]")
    return df


def write_parquet(
    directory: str | Path,
    n_users: int = 1_000,
    n_items: int = 200,
    n_events: int = 50_000,
    seed: int = 0,
    start: str | pd.Timestamp = "2024-01-01",
    days: int = 180,
    *,
    row_group_rows: int = 1_000_000,
    **options: Any,
) -> SyntheticFiles:
    """Stream a synthetic data set to Parquet files in ``directory`` with bounded memory.

    Writes ``events.parquet`` (row groups of about ``row_group_rows`` rows, written as the
    blocks are generated), ``users.parquet``, ``items.parquet``, ``truth_<table>.parquet`` for
    every truth table and ``truth_params.json``. The rows equal those of :func:`generate`
    with the same arguments. Memory stays at roughly one block (~200k events) plus one row
    group, whatever ``n_events`` is. Defaults are those of :func:`generate`.
    """
    cfg = _config(n_users, n_items, n_events, seed, start, days, options)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    world = _build_world(cfg)
    run = _Run(world)
    events_path = out / "events.parquet"
    pending: list[pa.Table] = []
    pending_rows = 0
    with pq.ParquetWriter(events_path, EVENT_SCHEMA, compression="zstd") as writer:
        for table in run.tables():
            pending.append(table)
            pending_rows += table.num_rows
            if pending_rows >= row_group_rows:
                writer.write_table(pa.concat_tables(pending), row_group_size=pending_rows)
                pending, pending_rows = [], 0
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=max(pending_rows, 1))
    users_path, items_path = out / "users.parquet", out / "items.parquet"
    world.users_df.to_parquet(users_path, index=False)
    world.items_df.to_parquet(items_path, index=False)
    truth = run.truth()
    truth_paths: dict[str, Path] = {}
    for name in SyntheticTruth.TABLES:
        path = out / f"truth_{name}.parquet"
        getattr(truth, name).to_parquet(path, index=False)
        truth_paths[name] = path
    params_path = out / "truth_params.json"
    params_path.write_text(json.dumps(truth.params, indent=2) + "\n", encoding="utf-8")
    truth_paths["params"] = params_path
    return SyntheticFiles(
        directory=out,
        events=events_path,
        users=users_path,
        items=items_path,
        truth=truth_paths,
        n_events=run.n_events,
    )


def read_parquet(directory: str | Path) -> SyntheticData:
    """Read back a data set written by :func:`write_parquet` (events fully into memory)."""
    d = Path(directory)
    truth = SyntheticTruth(
        **{name: pd.read_parquet(d / f"truth_{name}.parquet") for name in SyntheticTruth.TABLES},
        params=json.loads((d / "truth_params.json").read_text(encoding="utf-8")),
    )
    return SyntheticData(
        users=pd.read_parquet(d / "users.parquet"),
        items=pd.read_parquet(d / "items.parquet"),
        events=_events_to_pandas(pq.read_table(d / "events.parquet")),
        truth=truth,
    )


def load_synthetic(
    store: Store, data: SyntheticData | SyntheticFiles, *, chunk_rows: int = 250_000
) -> dict[str, LoadReport]:
    """Load a synthetic data set into ``store`` through the normal ingestion (items, users,
    events), from memory (:class:`SyntheticData`) or from the files of :func:`write_parquet`
    (streamed in chunks). The truth is not a store table; keep it beside the store."""
    if isinstance(data, SyntheticFiles):
        return {
            "items": ingest_file(store, "items", data.items, chunk_rows=chunk_rows),
            "users": ingest_file(store, "users", data.users, chunk_rows=chunk_rows),
            "events": ingest_file(store, "events", data.events, chunk_rows=chunk_rows),
        }
    tag = json.dumps(data.truth.params, sort_keys=True)
    return {
        name: ingest_frame(
            store,
            name,
            getattr(data, name),
            source=f"synthetic:{name}:{tag}",
            chunk_rows=chunk_rows,
        )
        for name in ("items", "users", "events")
    }
