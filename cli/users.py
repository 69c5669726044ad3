"""`flask users create|list|reset-password|disable|enable`: accounts (the password is stored as a scrypt hash)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from cli import ctx, user_errors
from services import users
from services.context import Actor
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


@users_cli.command("list")
@user_errors
def users_list():
    """List the accounts with their role and state."""
    for u in ctx().accounts.list():
        state = f"已停用（{u['disabled_at']}）" if u["disabled_at"] else "正常"
        click.echo(f"{u['username']}\t{ROLES.get(u['role'], u['role'])}\t{state}\t创建于 {u['created_at']}")


@users_cli.command("reset-password")
@click.argument("username")
@click.password_option(help="新密码，至少 10 位；不提供则交互输入 / the new password; prompted if omitted")
@click.option("--user", "acting", default=None, help="审计日志中的操作人 / who the audit log names (default cli:<system user>)")
@user_errors
def users_reset_password(username, password, acting):
    """Set a new password; the account's open sessions end."""
    users.reset_password(ctx(), Actor.cli(acting), username, password)
    click.echo(f"已重设 {username} 的密码，其已登录的会话已失效")


@users_cli.command("disable")
@click.argument("username")
@click.option("--user", "acting", default=None, help="审计日志中的操作人 / who the audit log names")
@user_errors
def users_disable(username, acting):
    """Stop an account signing in; its open sessions end (its audit rows stay)."""
    users.disable_user(ctx(), Actor.cli(acting), username)
    click.echo(f"已停用 {username}")


@users_cli.command("enable")
@click.argument("username")
@click.option("--user", "acting", default=None, help="审计日志中的操作人 / who the audit log names")
@user_errors
def users_enable(username, acting):
    """Allow a disabled account to sign in again."""
    users.enable_user(ctx(), Actor.cli(acting), username)
    click.echo(f"已启用 {username}")
