"""Command-line tools (`flask --app app <command>`): screen, shares, sections, air, users, layers, db, jobs, basemap.

Every command calls the same services as the web adapter, through one error decorator that
prints the Chinese and English message (and any bad rows) and exits with status 1.
"""
from __future__ import annotations

from functools import wraps

import click
from flask import current_app

from geo.errors import DataError


def ctx():
    services = current_app.extensions["services"]
    services.live.refresh()  # a version published by another process since start-up
    return services


def user_errors(fn):
    """A DataError becomes a ClickException: message in both languages, bad rows listed on stderr."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DataError as exc:
            for e in exc.details.get("errors", []):
                click.echo(f"  第 {e['row']} 行 {e['column']}：{e['problem']}", err=True)
            raise click.ClickException(f"{exc.message_zh} / {exc.message_en}") from None
    return wrapper


def register(app) -> None:
    from cli import air, basemap, db, jobs, layers, screen, sections, shares, users

    for command in (screen.screen_cli, screen.screen_batch_cli, shares.shares_cli, sections.sections_cli, users.users_cli, layers.layers_cli, db.db_cli,
                    jobs.jobs_cli, air.air_cli, basemap.basemap_cli):
        app.cli.add_command(command)
