"""Accounts and the audit trail as the adapters use them: create, log in (audited), export."""
from __future__ import annotations

import json
import math

from geo.errors import RateLimitedError
from render.tables import rows_to_csv
from services.context import Actor

AUDIT_COLUMNS = ("id", "at", "username", "action", "input_sha256", "summary", "versions", "result_id")


def create_user(ctx, username: str, password: str, role: str) -> None:
    ctx.accounts.create(username, password, role)


def reset_password(ctx, actor: Actor, username: str, password: str) -> None:
    ctx.accounts.reset_password(username, password)
    ctx.record(actor, "reset-password", f"重设 {username} 的密码（其已登录的会话失效）", {})


def disable_user(ctx, actor: Actor, username: str) -> None:
    ctx.accounts.disable(username)
    ctx.record(actor, "disable-user", f"停用账号 {username}（不能再登录，已登录的会话失效）", {})


def enable_user(ctx, actor: Actor, username: str) -> None:
    ctx.accounts.enable(username)
    ctx.record(actor, "enable-user", f"启用账号 {username}", {})


def check_password(ctx, username: str, password: str) -> dict | None:
    """The account if the password is right, else None — the same work either way. A name with LOGIN_FREE_FAILURES
    failures in a row is locked for a doubling time whoever asks and from wherever (RateLimitedError, even with the
    right password, so guessing stops paying); the lock is audited. The per-client budget stays the rate limiter's."""
    wait = ctx.accounts.locked_for(username)
    if wait:
        raise RateLimitedError(f"该账号连续登录失败次数过多，已暂停登录，请 {math.ceil(wait)} 秒后再试",
                               f"too many failed logins for this account: try again in {math.ceil(wait)} s")
    user = ctx.accounts.verify(username, password)
    if user:
        ctx.accounts.clear_failures(username)
        return user
    failed = ctx.accounts.record_failure(username)
    if failed["locked_for_s"]:
        ctx.record(Actor.anonymous(), "login_locked",
                   f"账号 {str(username)[:40]} 连续 {failed['failures']} 次登录失败，暂停登录 {failed['locked_for_s']:g} 秒", {})
    return None


def login(ctx, username: str, password: str) -> dict | None:
    """check_password, and the login audited."""
    user = check_password(ctx, username, password)
    if user:
        ctx.record(Actor(user["username"], user["role"]), "login", "登录", {})
    return user


def audit_csv(ctx) -> str:
    entries = reversed(ctx.audit.entries(limit=1_000_000))
    return rows_to_csv([{**e, "input_sha256": e["input_sha256"] or "", "result_id": e["result_id"] or "", "versions": json.dumps(e["versions"], ensure_ascii=False)}
                        for e in entries], AUDIT_COLUMNS)
