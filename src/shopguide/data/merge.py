"""Merging a load's staged rows into the store's events, users and items.

A load first stages its valid rows (with their file lines) in a temporary table; the functions
here give them their keys and insert what the store does not hold yet, in one transaction with
the rest of the load (see :mod:`shopguide.data.ingest`).
"""

from __future__ import annotations

import pandas as pd

from shopguide.columns import EVENT_FILE_COLUMNS, EVENTS
from shopguide.columns import Columns as C
from shopguide.data.validate import TableSpec
from shopguide.store.base import Store


def merge_events(store: Store, stage: str, load_id: int) -> int:
    """Give staged events their keys and insert those the store does not hold yet.

    The stored keys are found with a semi join of the events on the staged keys, which lets
    DuckDB skip the events' row groups that cannot hold them: for an API batch of 10 events
    on a 10M-event store it takes 2 ms, against 0.2 s for the equivalent ``NOT EXISTS`` (an
    anti join that reads every stored key); for 1M new events, 0.16 s against 0.6 s.
    """
    # every file column but the event's own id, which identifies the events that have one
    content = ", ".join(
        f'coalesce(CAST("{col}" AS VARCHAR), chr(0))'
        for col in EVENT_FILE_COLUMNS
        if col != C.EVENT_ID
    )
    unique_ids = _ids_unique(store, stage)
    kind = "VIEW" if unique_ids else "TABLE"
    first_only = (
        "" if unique_ids else "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY line) = 1"
    )
    store.execute(
        f"""
        CREATE TEMP {kind} stage_keyed AS
        SELECT * EXCLUDE (event_key), 'id:' || event_id AS event_key
        FROM {stage} WHERE event_id IS NOT NULL
        {first_only}
        UNION ALL
        SELECT * EXCLUDE (event_key, content_hash),
            'h:' || content_hash || ':' || row_number() OVER (
                PARTITION BY content_hash ORDER BY line) AS event_key
        FROM (SELECT *, md5(concat_ws(chr(31), {content})) AS content_hash
              FROM {stage} WHERE event_id IS NULL)
        """
    )
    before = store.count("events")
    columns = ", ".join(f'"{c}"' for c in EVENTS.names if c != C.LOAD_ID)
    # the part's keys the store already holds (none in an empty store: no join to build then)
    held = (
        "SELECT event_key FROM events SEMI JOIN part USING (event_key)"
        if before
        else "SELECT CAST(NULL AS VARCHAR) AS event_key WHERE false"
    )
    # in passes of consecutive lines: one statement joining and sorting 10M staged rows against
    # 10M stored ones does not fit a load's memory; each pass keeps the file's line order
    first, last = store.query_df(f"SELECT min(line), max(line) FROM {stage}").iloc[0]
    inserted = 0
    if first is not None and not pd.isna(first):
        for low in range(int(first), int(last) + 1, _ROWS_PER_INSERT):
            high = low + _ROWS_PER_INSERT - 1
            inserted += store.scalar(  # an INSERT's one row is the count of rows it inserted
                f"""
                INSERT INTO events ({columns}, load_id)
                WITH part AS (SELECT * FROM stage_keyed WHERE line BETWEEN {low} AND {high}),
                held AS ({held})
                SELECT {columns}, {load_id} FROM part s
                ANTI JOIN held USING (event_key)
                ORDER BY s.line
                """
            )
    store.execute(f"DROP {kind} stage_keyed")
    return int(inserted)


#: Staged lines inserted per statement (see :func:`merge_events`).
_ROWS_PER_INSERT = 2_000_000


#: Staged ids checked for repeats per pass: the groups of one pass fit DuckDB's memory limit
#: of a load (a single GROUP BY of 50M ids does not).
_IDS_PER_PASS = 5_000_000


def _ids_unique(store: Store, stage: str) -> bool:
    """Whether every staged event has an id and no id repeats. The usual file is like that,
    and its keys are then the ids, without the window that numbers repeats (a third of a large
    load's time)."""
    rows, with_id = store.query_df(f"SELECT count(*), count(event_id) FROM {stage}").iloc[0]
    if rows != with_id:
        return False
    passes = max(1, -(-int(rows) // _IDS_PER_PASS))
    for part in range(passes):
        repeated = store.scalar(
            f"""SELECT EXISTS (SELECT 1 FROM {stage} WHERE hash(event_id) % {passes} = {part}
                               GROUP BY event_id HAVING count(*) > 1)"""
        )
        if repeated:
            return False
    return True


def merge_entities(
    store: Store, spec: TableSpec, stage: str, load_id: int, present: set[str]
) -> tuple[int, int]:
    """Insert new users/items and update changed ones; the last row of an id in a file wins.

    Columns the file does not have keep their stored values; attributes merge key by key.
    Returns (inserted, updated).
    """
    key = spec.key
    value_columns = [c for c in store.query_df(f"SELECT * FROM {stage} LIMIT 0").columns]
    value_columns = [c for c in value_columns if c not in (key, "line", C.ATTRIBUTES)]
    file_has = set(present) | ({C.AGE_BAND} if C.AGE in present else set())

    def pick(column: str) -> str:
        if column in file_has:
            return f'n."{column}"'
        return (
            f'coalesce(n."{column}", o."{column}")' if column == C.ATTRIBUTES else f'o."{column}"'
        )

    selects = ", ".join(f'{pick(c)} AS "{c}"' for c in value_columns)
    store.execute(
        f"""
        CREATE TEMP TABLE stage_merged AS
        WITH latest AS (
            SELECT * FROM {stage}
            QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY line DESC) = 1
        )
        SELECT n.{key}, {selects},
            CASE WHEN o.attributes IS NULL THEN n.attributes
                 WHEN n.attributes IS NULL THEN o.attributes
                 ELSE json_merge_patch(o.attributes, n.attributes) END AS attributes,
            o.{key} IS NOT NULL AS known,
            o.{key} IS NOT NULL AND ({
            " AND ".join(f'{pick(c)} IS NOT DISTINCT FROM o."{c}"' for c in value_columns)
        }) AND (n.attributes IS NULL OR coalesce(
                json_merge_patch(o.attributes, n.attributes)::VARCHAR
                = json_merge_patch(o.attributes, '{{}}')::VARCHAR, false)) AS unchanged
        FROM latest n LEFT JOIN {spec.name} o ON o.{key} = n.{key}
        """
    )
    inserted = int(store.scalar("SELECT count(*) FROM stage_merged WHERE NOT known"))
    updated = int(store.scalar("SELECT count(*) FROM stage_merged WHERE known AND NOT unchanged"))
    store.execute(
        f"DELETE FROM {spec.name} WHERE {key} IN "
        f"(SELECT {key} FROM stage_merged WHERE known AND NOT unchanged)"
    )
    columns = ", ".join(f'"{c}"' for c in [key, *value_columns, C.ATTRIBUTES])
    store.execute(
        f"INSERT INTO {spec.name} ({columns}, load_id) "
        f"SELECT {columns}, {load_id} FROM stage_merged WHERE NOT unchanged ORDER BY {key}"
    )
    store.execute("DROP TABLE stage_merged")
    return inserted, updated
