"""`flask db upgrade|status`: the state database's schema (SQLite files or PostgreSQL) from the shell."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from cli import ctx

db_cli = AppGroup("db", help="状态数据库：结构升级与状态 / state database schema")


@db_cli.command("upgrade")
def db_upgrade():
    """Apply every pending schema migration (start-up does the same; this is the explicit step for an upgrade)."""
    services = ctx()
    stores = [services.db] + ([] if services.shared else [services.live.measurements.db])
    for store in stores:
        applied = store.migrate()
        click.echo(f"{store.describe()}：{'已应用 ' + '、'.join(applied) if applied else '已是最新'}（{store.migrations()[-1]}）")


@db_cli.command("status")
def db_status():
    """Where the state lives and which migrations it has."""
    services = ctx()
    click.echo(f"状态数据库：{services.db.describe()}；图层版本：{services.repository.backend}")
    for version in services.db.migrations():
        click.echo(f"  {version}")
