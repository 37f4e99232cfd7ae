"""The figures a backup's manifest records, and the comparison a restore makes against them.

Measured on one connection, inside the transaction (PostgreSQL) or on the very copy (SQLite) that
the payload is made from, so the manifest describes exactly what the payload holds.
"""

from sqlalchemy import inspect, text

# name -> SQL giving one integer; every figure a restored database must reproduce exactly.
TOTALS = {
    "balance_sum": "SELECT COALESCE(SUM(balance), 0) FROM points_account",
    "lifetime_sum": "SELECT COALESCE(SUM(lifetime), 0) FROM points_account",
    "ledger_delta_sum": "SELECT COALESCE(SUM(delta), 0) FROM ledger_entry",
    "lot_remaining_sum": "SELECT COALESCE(SUM(remaining), 0) FROM points_lot",
    "goods_stock_sum": "SELECT COALESCE(SUM(stock), 0) FROM goods",
    "goods_stock_received_sum": "SELECT COALESCE(SUM(stock_received), 0) FROM goods",
    "live_order_units": "SELECT COALESCE(SUM(quantity), 0) FROM redemption WHERE status <> 'cancelled'",
    "live_order_points": "SELECT COALESCE(SUM(total_points), 0) FROM redemption WHERE status <> 'cancelled'",
}


def measure(connection) -> dict:
    """Schema revision, row count of every table and the money totals, read on `connection`."""
    tables = sorted(inspect(connection).get_table_names())
    counts = {name: int(connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar()) for name in tables}
    present = set(tables)
    totals = {
        name: int(connection.execute(text(sql)).scalar()) for name, sql in TOTALS.items() if _table_of(sql) in present
    }
    revision = None
    if "alembic_version" in present:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {"schema_revision": revision, "tables": counts, "totals": totals}


def differences(expected, found) -> list[str]:
    """One line per figure that differs between a manifest and a measured database; empty when equal."""
    out = []
    if expected.get("schema_revision") != found["schema_revision"]:
        out.append(f"schema revision {found['schema_revision']!r}, manifest says {expected.get('schema_revision')!r}")
    for kind in ("tables", "totals"):
        want, got = expected.get(kind) or {}, found[kind]
        for name in sorted(set(want) | set(got)):
            if want.get(name) != got.get(name):
                label = f"table {name} rows" if kind == "tables" else name
                out.append(f"{label}: {_shown(got.get(name))}, manifest says {_shown(want.get(name))}")
    return out


def _table_of(sql):
    return sql.split(" FROM ", 1)[1].split()[0]


def _shown(value):
    return "missing" if value is None else value
