"""Security of the web adapter: CSP with per-response nonces, hardened headers and cookies, CSRF,
per-client rate limits, the logged-in user and role checks, safe redirects after login."""
from __future__ import annotations

import os
import random
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from functools import wraps
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup

from geo.errors import AuthRequiredError, DatabaseUnavailableError, ForbiddenError, RateLimitedError
from services import users
from services.context import Actor
from state.sessions import SessionStore

csrf = CSRFProtect()
class RateLimiter:
    """Per-client sliding window for the expensive endpoints (uploads, screening, imports, login), in this process."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[tuple[str, str], deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, client: str, bucket: str) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits[(client, bucket)]
            while hits and now - hits[0] > 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                raise RateLimitedError(f"请求过于频繁：每分钟最多 {self.per_minute} 次，请稍后再试",
                                       f"rate limit: {self.per_minute} per minute")
            hits.append(now)


class SharedRateLimiter(RateLimiter):
    """The same sliding window kept in the shared database, so every worker process counts one budget per client."""

    def __init__(self, per_minute: int, db):
        super().__init__(per_minute)
        self.db = db

    def hit(self, client: str, bucket: str) -> None:
        now = time.time()
        with self.db.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"{client}|{bucket}",))  # counts and inserts are one step
            if random.random() < 0.01:  # now and then, the expired events of clients that did not come back
                tx.execute("DELETE FROM rate_events WHERE at <= ?", (now - 60,))
            tx.execute("DELETE FROM rate_events WHERE client = ? AND bucket = ? AND at <= ?", (client, bucket, now - 60))
            hits = tx.execute("SELECT COUNT(*) FROM rate_events WHERE client = ? AND bucket = ?", (client, bucket))[0][0]
            if hits >= self.per_minute:
                raise RateLimitedError(f"请求过于频繁：每分钟最多 {self.per_minute} 次，请稍后再试",
                                       f"rate limit: {self.per_minute} per minute")
            tx.execute("INSERT INTO rate_events (client, bucket, at) VALUES (?, ?, ?)", (client, bucket, now))


def rate_limited(bucket: str):
    """Count this request against the client's budget for bucket before the view runs."""
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            current_app.extensions["rate_limit"].hit(request.remote_addr or "?", bucket)
            return fn(*args, **kwargs)
        return wrapper
    return decorator


def current_user() -> dict | None:
    """The signed-in user: a cookie counts only while its session row lives (not logged out, idle or too old) and
    no password reset or disable came after it (session_version)."""
    if "user" not in g:
        name = session.get("user")
        user = current_app.extensions["services"].accounts.get(name) if name else None
        live = user is not None and current_app.extensions["sessions"].check(session.get("sid"), name)
        g.user = user if live and session.get("session_version", 0) == user["session_version"] else None
    return g.user


def start_session(user: dict) -> None:
    """A fresh cookie and session row for a user who just proved the password (nothing of the old cookie is kept,
    and the session it named ends)."""
    current_app.extensions["sessions"].end(session.get("sid"))
    session.clear()
    session["user"] = user["username"]
    session["session_version"] = user["session_version"]
    session["sid"] = current_app.extensions["sessions"].create(user["username"])
    g.pop("user", None)


def end_session() -> None:
    """Logged out: the session row goes, so a copy of the cookie signs nobody in any more."""
    current_app.extensions["sessions"].end(session.get("sid"))
    session.clear()
    g.pop("user", None)


def shown_user() -> dict | None:
    """The user a page's header names; nobody while the database cannot be reached (the 503 page still renders)."""
    if g.get("database_down"):
        return None
    try:
        return current_user()
    except DatabaseUnavailableError:
        return None


def actor(cookie_free: bool = False) -> Actor:
    """Who the audit names. The CSRF-exempt API names nobody: a cross-site post would otherwise
    write in the victim's name."""
    user = None if cookie_free else current_user()
    return Actor(user["username"], user["role"]) if user else Actor.anonymous()


def api_actor() -> Actor:
    """Who an /ogcapi request acts for (the audit and the job's owner). HTTP Basic credentials name that user; wrong
    ones are a 401 (counted against the login rate limit; no WWW-Authenticate challenge, so no browser caches them).
    Else the session cookie's user, but for a request with a body only when it is application/json: a cross-site
    form cannot send JSON without a CORS preflight, which this service never grants. Else nobody."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        user = users.check_password(current_app.extensions["services"], auth.username or "", auth.password or "")
        if user is None:
            current_app.extensions["rate_limit"].hit(request.remote_addr or "?", "login")
            raise AuthRequiredError("HTTP Basic 认证失败：用户名或密码错误", "HTTP Basic authentication failed: wrong username or password")
        return Actor(user["username"], user["role"])
    if request.method in ("GET", "HEAD") or request.mimetype == "application/json":
        return actor()
    return Actor.anonymous()


def login_required(role: str = "reviewer"):
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    raise AuthRequiredError("请先登录", "login required")
                return redirect(url_for("admin.login", next=request.path))
            if role == "admin" and user["role"] != "admin":
                raise ForbiddenError("需要管理员权限", "administrator role required")
            return fn(*args, **kwargs)
        return wrapper
    return decorator


def safe_next(target: str) -> str | None:
    """A same-site path to go back to after login, or None (no scheme, no host, no control characters)."""
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", target or "").replace("\\", "/")
    parts = urlsplit(cleaned)
    if not cleaned.startswith("/") or cleaned.startswith("//") or parts.scheme or parts.netloc:
        return None
    return cleaned


def instance_secret(instance: Path) -> str:
    """A random session key kept in the instance folder (never in the repository)."""
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def shared_secret(db) -> str:
    """The session key kept in the shared database: every worker signs and reads sessions alike, across restarts."""
    db.execute("INSERT INTO settings (key, value) VALUES ('secret_key', ?) ON CONFLICT (key) DO NOTHING", (secrets.token_hex(32),))
    return db.execute("SELECT value FROM settings WHERE key = 'secret_key'")[0][0]


def init_app(app, cfg: dict, services) -> None:
    secret = cfg["SECRET_KEY"] or (shared_secret(services.db) if services.shared else instance_secret(Path(cfg["INSTANCE_DIR"])))
    app.config.update(SECRET_KEY=secret, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=cfg["SESSION_COOKIE_SECURE"], WTF_CSRF_TIME_LIMIT=None)
    csrf.init_app(app)
    app.extensions["sessions"] = SessionStore(services.db, cfg["SESSION_IDLE_MINUTES"] * 60, cfg["SESSION_MAX_HOURS"] * 3600)
    app.extensions["rate_limit"] = (SharedRateLimiter(cfg["RATE_LIMIT_PER_MINUTE"], services.db) if services.shared
                                    else RateLimiter(cfg["RATE_LIMIT_PER_MINUTE"]))
    tile_hosts = " ".join(services.basemaps.csp_hosts())  # OSM, 天地图 and every configured tile URL's host (images only)

    @app.before_request
    def nonce():
        g.csp_nonce = secrets.token_urlsafe(16)
        if request.endpoint not in ("static", "pages.basemap_tile"):  # base-map tiles do not depend on the published layers
            try:
                services.live.refresh()  # a publish by another worker is served from here on
            except DatabaseUnavailableError:
                g.database_down = True  # the error page does not wait for the database a second time
                raise

    @app.template_filter("with_nonce")
    def with_nonce(html: str) -> Markup:
        """Folium writes bare <script> blocks; give them this response's CSP nonce."""
        return Markup(re.sub(r"<script>", f'<script nonce="{g.csp_nonce}">', str(html)))

    @app.after_request
    def security_headers(resp):
        resp.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{g.get('csp_nonce', '')}'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: {tile_hosts}; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
            "form-action 'self'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"
        return resp
