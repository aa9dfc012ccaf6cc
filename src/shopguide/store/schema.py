"""The store's tables and their migrations.

Each migration is a list of statements applied in one transaction; ``schema_version`` records
which have run. Add a migration to change the schema; never edit one that has shipped.
Every table ShopGuide keeps is created here, never at use time (the profile tables are the one
exception: whether they exist says whether profiles were ever built). The events, users and
items tables must match their description in :mod:`shopguide.columns`; a test checks a
migrated store against it (see :func:`shopguide.schema.duckdb_ddl` to write a new migration).
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[dict[int, list[str]]] = {
    1: [
        """CREATE TABLE users (
            user_id VARCHAR NOT NULL,
            gender VARCHAR,
            age INTEGER,
            age_band VARCHAR,
            location VARCHAR,
            signup_at TIMESTAMP,
            attributes JSON,
            load_id INTEGER
        )""",
        """CREATE TABLE items (
            item_id VARCHAR NOT NULL,
            title VARCHAR,
            category VARCHAR,
            brand VARCHAR,
            price DOUBLE,
            in_stock BOOLEAN,
            attributes JSON,
            load_id INTEGER
        )""",
        """CREATE TABLE events (
            event_key VARCHAR NOT NULL,
            event_id VARCHAR,
            user_id VARCHAR NOT NULL,
            item_id VARCHAR NOT NULL,
            event_type VARCHAR NOT NULL,
            "timestamp" TIMESTAMP NOT NULL,
            quantity DOUBLE NOT NULL,
            price DOUBLE,
            discount DOUBLE,
            order_id VARCHAR,
            session_id VARCHAR,
            campaign_id VARCHAR,
            load_id INTEGER
        )""",
        """CREATE TABLE loads (
            load_id INTEGER NOT NULL,
            table_name VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            source_sha256 VARCHAR NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL,
            rows_read BIGINT NOT NULL,
            accepted BIGINT NOT NULL,
            rejected BIGINT NOT NULL,
            duplicates BIGINT NOT NULL,
            updated BIGINT NOT NULL
        )""",
        """CREATE TABLE quarantine (
            load_id INTEGER NOT NULL,
            table_name VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            source_sha256 VARCHAR NOT NULL,
            line BIGINT,
            column_name VARCHAR,
            value VARCHAR,
            reason VARCHAR NOT NULL,
            raw VARCHAR
        )""",
    ],
    2: [
        # erased users: the SHA-256 of the id, so the list itself holds no personal data;
        # ingestion rejects their rows with the reason "user erased"
        """CREATE TABLE IF NOT EXISTS suppressed_users (
            user_hash VARCHAR NOT NULL PRIMARY KEY,
            suppressed_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS campaign_contacts (
            campaign VARCHAR NOT NULL,
            user_id VARCHAR NOT NULL,
            contacted_at TIMESTAMP NOT NULL
        )""",
        # predicted fields of the profile (churn, value), versioned like the profiles
        """CREATE TABLE IF NOT EXISTS user_predictions (
            as_of TIMESTAMP NOT NULL,
            user_id VARCHAR NOT NULL,
            churn_probability DOUBLE,
            churn_reasons VARCHAR,
            p_alive DOUBLE,
            expected_purchases_90d DOUBLE,
            clv DOUBLE,
            expected_next_order TIMESTAMP
        )""",
    ],
    3: [
        # why a buyer's P(alive) is empty (a degenerate purchase-model fit, or a BG/NBD buyer
        # with one purchase day) and where their value came from instead; NULL when the
        # purchase model's own numbers are shown
        "ALTER TABLE user_predictions ADD COLUMN IF NOT EXISTS value_note VARCHAR",
    ],
    4: [
        # the user a quarantined row belongs to, so an erasure deletes exactly that user's rows
        # (never by searching the raw text); ingestion fills it from the row's user_id
        "ALTER TABLE quarantine ADD COLUMN user_id VARCHAR",
        # rows stored before: read the id from raws that are a JSON object with a user_id
        # string or integer (JSON Lines, Parquet and API rows); a CSV line, a truncated raw or
        # a file whose id column had another name stays NULL (see docs/howto/privacy.md)
        """UPDATE quarantine SET user_id = CASE WHEN json_valid(raw) AND json_type(raw) = 'OBJECT'
            THEN CASE json_type(raw, '$.user_id')
                WHEN 'VARCHAR' THEN nullif(trim(json_extract_string(raw, '$.user_id')), '')
                WHEN 'BIGINT' THEN json_extract_string(raw, '$.user_id')
                WHEN 'UBIGINT' THEN json_extract_string(raw, '$.user_id')
            END END
            WHERE table_name IN ('users', 'events') AND raw IS NOT NULL""",
    ],
    5: [
        # saved campaign audiences, which the service and the CLI created on first use before;
        # IF NOT EXISTS keeps the tables a store already made that way (same columns)
        # the members of every saved audience (erasing a user removes their rows)
        """CREATE TABLE IF NOT EXISTS audiences (
            audience_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            name VARCHAR,
            user_id VARCHAR NOT NULL,
            score DOUBLE NOT NULL,
            rank INTEGER NOT NULL,
            reasons VARCHAR
        )""",
        # one row per audience the service saved, with or without members
        """CREATE TABLE IF NOT EXISTS audience_index (
            audience_id VARCHAR NOT NULL PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            name VARCHAR,
            size INTEGER NOT NULL
        )""",
        # one row per audience a campaign stored: its audit record as JSON (no user ids in it)
        """CREATE TABLE IF NOT EXISTS audience_audits (
            audience_id VARCHAR NOT NULL PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            name VARCHAR,
            record VARCHAR NOT NULL
        )""",
    ],
}

LATEST_VERSION: Final = max(MIGRATIONS)

#: Tables a user-facing ``stats`` lists, in order.
DATA_TABLES: Final = ("users", "items", "events", "quarantine", "loads")
