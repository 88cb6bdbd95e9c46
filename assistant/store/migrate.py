"""Apply the Alembic migrations in ``assistant/migrations`` to a database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that needs no alembic.ini on disk."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def is_current(database: str | Engine) -> bool:
    """True if the database (a URL, or an engine to use) is migrated to the newest revision.

    Raises:
        sqlalchemy.exc.OperationalError: the database cannot be reached.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    url = (database if isinstance(database, str)
           else database.url.render_as_string(hide_password=False))
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(url) if isinstance(database, str) else database
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() == head
    finally:
        if isinstance(database, str):
            engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (default: the newest). A SQLite file
    leaves in WAL mode, with its tables.

    Why here: WAL is a property of the file, and converting to it needs the file to itself.
    Left to the app, several workers starting together on a freshly migrated file would each
    convert it on their first connection, and a loser got "database is locked" at once
    (upgrading its read lock to a write lock while another held one is SQLite's deadlock
    case, where the busy timeout is not waited; 3 runs in 40 with two processes). Once the
    file is WAL, the app's ``PRAGMA journal_mode=WAL`` only reads and waits like any read.
    """
    if url.startswith("sqlite"):
        from .engine import make_engine
        engine = make_engine(url)  # its connect hook sets WAL
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    command.upgrade(alembic_config(url), revision)
