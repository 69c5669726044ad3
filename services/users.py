"""Accounts and the audit trail as the adapters use them: create, log in (audited), export."""
from __future__ import annotations

import json

from render.tables import rows_to_csv
from services.context import Actor

AUDIT_COLUMNS = ("id", "at", "username", "action", "input_sha256", "summary", "versions")


def create_user(ctx, username: str, password: str, role: str) -> None:
    ctx.accounts.create(username, password, role)


def login(ctx, username: str, password: str) -> dict | None:
    """The account if the password is right (audited), else None — the same work either way."""
    user = ctx.accounts.verify(username, password)
    if user:
        ctx.record(Actor(user["username"], user["role"]), "login", "登录", {})
    return user


def audit_csv(ctx) -> str:
    entries = reversed(ctx.audit.entries(limit=1_000_000))
    return rows_to_csv([{**e, "input_sha256": e["input_sha256"] or "", "versions": json.dumps(e["versions"], ensure_ascii=False)}
                        for e in entries], AUDIT_COLUMNS)
