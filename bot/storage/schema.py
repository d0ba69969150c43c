"""The database schema: one SQL script per version, applied in order and never changed once
released (a change is a new script at the end). SQLite's ``PRAGMA user_version`` and
PostgreSQL's ``schema_version`` table count those applied; PostgreSQL runs the same scripts
with its own names for the types (:func:`for_postgres`)."""

from __future__ import annotations

import re

from bot.storage.records import StorageError

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE chat_prefs (
        chat_id      INTEGER PRIMARY KEY,
        image_model  TEXT,
        vision_model TEXT,
        aspect_ratio TEXT,
        image_count  INTEGER,
        updated_at   REAL NOT NULL
    );
    CREATE TABLE jobs (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        kind               TEXT NOT NULL,
        chat_id            INTEGER NOT NULL,
        user_id            INTEGER NOT NULL,
        command_message_id INTEGER NOT NULL,
        status_message_id  INTEGER,
        prompt             TEXT NOT NULL,
        options            TEXT NOT NULL DEFAULT '{}',
        model              TEXT NOT NULL,
        status             TEXT NOT NULL,
        upstream_job_id    TEXT,
        error              TEXT,
        created_at         REAL NOT NULL,
        started_at         REAL,
        finished_at        REAL
    );
    CREATE UNIQUE INDEX jobs_command ON jobs (chat_id, command_message_id, kind);
    CREATE INDEX jobs_status ON jobs (status);
    """,
    # What a restart needs: the topic to answer in, how many runs were started (a job is re-run
    # once after a crash), and whether the status message still has to be settled.
    """
    ALTER TABLE jobs ADD COLUMN thread_id INTEGER;
    ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN status_settled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN final_text TEXT;
    UPDATE jobs SET status_settled = 1;
    """,
    """
    CREATE TABLE provider_health (
        provider          TEXT PRIMARY KEY,
        failures_in_a_row INTEGER NOT NULL,
        last_success      REAL,
        last_failure      REAL,
        last_error        TEXT,
        down_until        REAL,
        cool_down         REAL NOT NULL,
        recent            TEXT NOT NULL
    );
    """,
    # Languages: a chat's choice (/language; NULL = each user's Telegram language) and the
    # language a job speaks, so that its texts after a restart stay in it.
    """
    ALTER TABLE chat_prefs ADD COLUMN language TEXT;
    ALTER TABLE jobs ADD COLUMN language TEXT;
    """,
    # /settings: a chat's negative prompt and how its results are shown; /stats reads jobs by
    # the time they were made.
    """
    ALTER TABLE chat_prefs ADD COLUMN negative_prompt TEXT;
    ALTER TABLE chat_prefs ADD COLUMN spoiler INTEGER;
    ALTER TABLE chat_prefs ADD COLUMN caption_above INTEGER;
    CREATE INDEX jobs_created ON jobs (created_at);
    """,
    # What a finished job made, for the buttons under it: the model that drew, the seed, and
    # the Telegram messages and files of the pictures (or the prompt a /describe wrote).
    """
    ALTER TABLE jobs ADD COLUMN result TEXT;
    """,
    # The photo a "What would you like to know?" prompt is about (the photo buttons): a reply
    # to the prompt is a question about that photo. Rows older than a day are pruned.
    """
    CREATE TABLE photo_prompts (
        chat_id    INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        photo      TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
    CREATE INDEX photo_prompts_created ON photo_prompts (created_at);
    """,
    # Inline mode: a job whose status and result live in an inline message (no chat message).
    """
    ALTER TABLE jobs ADD COLUMN inline_message_id TEXT;
    CREATE INDEX jobs_inline ON jobs (inline_message_id) WHERE inline_message_id IS NOT NULL;
    """,
    # How long each provider's jobs took, per model and stage (the pacers' figures: the seconds
    # of the most recent jobs as a JSON list), so that a restarted bot polls as well as before.
    """
    CREATE TABLE stage_durations (
        provider   TEXT NOT NULL,
        model      TEXT NOT NULL,
        stage      TEXT NOT NULL,
        seconds    TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (provider, model, stage)
    );
    """,
    # Pictures from pictures: a chat's edit model (/model's 🖌 tab).
    """
    ALTER TABLE chat_prefs ADD COLUMN edit_model TEXT;
    """,
    # Credits: each user's account (free credits used in the current period, bought ones
    # left), what running jobs hold, what was spent on each provider per UTC day, Telegram
    # Stars payments (one row per charge id) and the credits admins granted.
    """
    CREATE TABLE accounts (
        user_id   INTEGER PRIMARY KEY,
        period    TEXT NOT NULL,
        free_used INTEGER NOT NULL DEFAULT 0,
        bought    INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE holds (
        key         TEXT PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        provider    TEXT NOT NULL,
        amount      INTEGER NOT NULL,
        free_part   INTEGER NOT NULL,
        bought_part INTEGER NOT NULL,
        period      TEXT NOT NULL,
        created_at  REAL NOT NULL
    );
    CREATE TABLE spends (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id    INTEGER NOT NULL,
        provider   TEXT NOT NULL,
        amount     INTEGER NOT NULL,
        day        TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX spends_day ON spends (day, provider);
    CREATE TABLE payments (
        charge_id   TEXT PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        stars       INTEGER NOT NULL,
        credits     INTEGER NOT NULL,
        created_at  REAL NOT NULL,
        refunded_at REAL
    );
    CREATE INDEX payments_created ON payments (created_at);
    CREATE TABLE grants (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id    INTEGER NOT NULL,
        credits    INTEGER NOT NULL,
        by_user    INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # Several replicas: the replica running a job and until when its claim holds (renewed
    # while it runs), a /cancel asked on another replica, the updates already taken (Telegram
    # delivers one again when an answer is slow), and the replicas alive (their heartbeats).
    """
    ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
    ALTER TABLE jobs ADD COLUMN lease_until REAL;
    ALTER TABLE jobs ADD COLUMN cancel_reason TEXT;
    CREATE TABLE updates_seen (
        update_id INTEGER PRIMARY KEY,
        seen_at   REAL NOT NULL,
        replica   TEXT NOT NULL,
        done      INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX updates_seen_at ON updates_seen (seen_at);
    CREATE TABLE replicas (
        id         TEXT PRIMARY KEY,
        started_at REAL NOT NULL,
        seen_at    REAL NOT NULL
    );
    """,
    # Pictures waiting for Telegram and the originals behind 📎, for the replicas that share a
    # PostgreSQL database (any replica delivers any parcel); with SQLite they stay files.
    """
    CREATE TABLE parcels (
        job_id   INTEGER PRIMARY KEY,
        manifest TEXT NOT NULL
    );
    CREATE TABLE parcel_pictures (
        job_id   INTEGER NOT NULL,
        position INTEGER NOT NULL,
        data     BLOB NOT NULL,
        PRIMARY KEY (job_id, position)
    );
    CREATE TABLE originals (
        job_id     INTEGER NOT NULL,
        position   INTEGER NOT NULL,
        name       TEXT NOT NULL,
        data       BLOB NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (job_id, position)
    );
    CREATE INDEX originals_created ON originals (created_at);
    """,
)

_POSTGRES_TYPES = (
    (
        re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),  # Telegram's ids do not fit in 32 bits
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
)


def for_postgres(script: str) -> str:
    """A migration as PostgreSQL runs it: the same statements with its names for the types."""
    for pattern, replacement in _POSTGRES_TYPES:
        script = pattern.sub(replacement, script)
    return script


def check_version(version: int, where: str) -> None:
    """Raises StorageError when the database at ``where`` was written by a newer bot."""
    if version > len(MIGRATIONS):
        raise StorageError(
            f"The database {where} was written by a newer version of the bot (schema "
            f"{version}, this version knows {len(MIGRATIONS)}): run the newer version "
            "or restore a backup made with this one."
        )
