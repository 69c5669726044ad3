"""`flask users create`: accounts (the password is stored as a scrypt hash)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from cli import ctx, user_errors
from services import users
from state.accounts import ROLES

users_cli = AppGroup("users", help="账号管理 / accounts")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), default="reviewer", show_default=True)
@click.password_option(help="至少 10 位；不提供则交互输入 / at least 10 characters; prompted if omitted")
@user_errors
def users_create(username, role, password):
    """Create an account (password is stored as a scrypt hash)."""
    users.create_user(ctx(), username, password, role)
    click.echo(f"已创建{ROLES[role]} {username}")
