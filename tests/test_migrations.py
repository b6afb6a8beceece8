"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from domain import tables as schema  # noqa: F401
from domain.core.db import Base, Database
from domain.migrations import config
from tests.conftest import USE_PG


def test_upgrade_head_matches_the_models(fresh_db: Database) -> None:
    from alembic import command

    # fresh_db has tables from create_all; start from an empty schema instead.
    Base.metadata.drop_all(fresh_db.write_engine)
    with fresh_db.write_engine.begin() as conn:
        cfg = config(fresh_db.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with fresh_db.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
        assert diff == [], diff
        if USE_PG:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_upgrade_from_0001_keeps_the_data(fresh_db: Database) -> None:
    from alembic import command

    Base.metadata.drop_all(fresh_db.write_engine)
    with fresh_db.write_engine.begin() as conn:
        cfg = config(fresh_db.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO customers (name, credit_limit, currency, created_at) "
                          "VALUES ('Globex', 500000000, 'USD', CURRENT_TIMESTAMP)"))
        command.upgrade(cfg, "head")
    with fresh_db.write_engine.connect() as conn:
        row = conn.execute(text("SELECT name, payment_terms_days FROM customers")).one()
        assert tuple(row) == ("Globex", 30)


def test_upgrade_to_0009_keys_the_names_and_keeps_look_alikes_made_before(fresh_db: Database) -> None:
    """Names made before the look-alike rule get their keys; two that look the same both stay (the later one's key
    kept apart, so the unique constraint goes on), and a new look-alike is then refused by the constraint."""
    import pytest
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from domain.core.names import name_key

    Base.metadata.drop_all(fresh_db.write_engine)
    with fresh_db.write_engine.begin() as conn:
        cfg = config(fresh_db.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
        for name in ("Globex Corporation", "Gl\u043ebex Corporation", "Initech"):  # the second: a Cyrillic o
            conn.execute(text("INSERT INTO customers (name, credit_limit, currency, payment_terms_days, created_at) "
                              "VALUES (:n, 0, 'USD', 30, CURRENT_TIMESTAMP)"), {"n": name})
        conn.execute(text("INSERT INTO suppliers (name, currency, created_at) VALUES ('Acme', 'USD', CURRENT_TIMESTAMP)"))
        command.upgrade(cfg, "head")
    with fresh_db.write_engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT name, name_key FROM customers")).all())
        assert keys["Globex Corporation"] == name_key("Globex Corporation")
        assert keys["Initech"] == name_key("Initech")
        assert keys["Gl\u043ebex Corporation"].startswith(name_key("Globex Corporation") + "#")
        assert conn.execute(text("SELECT name_key FROM suppliers")).scalar_one() == name_key("Acme")
    with pytest.raises(IntegrityError), fresh_db.write_engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (name, name_key, credit_limit, currency, payment_terms_days, "
                          "created_at) VALUES ('GLOBEX  Corporation', :k, 0, 'USD', 30, CURRENT_TIMESTAMP)"),
                     {"k": name_key("GLOBEX  Corporation")})
