"""The schema: Alembic produces exactly the models, and history cannot be rewritten."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import DBAPIError

from catalog.db.engine import engine_for
from catalog.db.migrate import alembic_config, is_current, upgrade
from catalog.db.orm import Base, StockMovement


def test_fresh_database_matches_the_models(db_url):
    engine = engine_for(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert is_current(engine)


def test_downgrade_then_upgrade_gives_the_same_schema(db_url):
    command.downgrade(alembic_config(db_url), "base")
    engine = engine_for(db_url)
    assert not is_current(engine)
    assert "products" not in inspect(engine).get_table_names()
    upgrade(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_upgrade_is_idempotent(db_url):
    upgrade(db_url)
    upgrade(db_url)
    with engine_for(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM locations WHERE code = 'MAIN'")).scalar() == 1


@pytest.mark.parametrize("statement", ["UPDATE stock_movements SET on_hand_delta = 99", "DELETE FROM stock_movements"])
def test_stock_movements_are_append_only(db_url, statement):
    engine = engine_for(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO products (group_key, title, category, description, updated_at) "
                          "VALUES ('k', 't', 'c', '', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO variants (product_id, sku, sku_key, attributes, price, currency, "
                          "preorder_allowed, backorder_allowed, updated_at) "
                          "VALUES (1, 'S-1', 'S-1', '{}', 1, 'USD', false, false, CURRENT_TIMESTAMP)"))
        conn.execute(insert(StockMovement).values(variant_id=1, location_id=1, on_hand_delta=5, reason="test"))
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT on_hand_delta FROM stock_movements")).scalars().all() == [5]
