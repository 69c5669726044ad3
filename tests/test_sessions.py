"""Server-side sessions: the cookie names a session row, so logging out ends every copy of the cookie, an idle or
too old session is refused, and the table holds only a hash of what the cookie carries."""
import hashlib

import pytest

from conftest import admin_client, csrf_token
from state.sessions import TOUCH_EVERY_S, SessionStore


@pytest.fixture()
def app(make_app):
    return make_app(RATE_LIMIT_PER_MINUTE=1000, SESSION_IDLE_MINUTES=30, SESSION_MAX_HOURS=2)


@pytest.fixture()
def clock(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(SessionStore, "clock", staticmethod(lambda: now[0]))
    return now


def copy_of(app, client):
    """A second browser holding a copy of client's cookie (what a stolen or copied cookie is)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def test_logout_ends_every_copy_of_the_cookie(app):
    browser = admin_client(app)
    thief = copy_of(app, browser)
    assert thief.get("/admin/").status_code == 200  # the copy works while the session lives
    assert browser.post("/logout", data={"csrf_token": csrf_token(browser, "/admin/")}).status_code == 302
    assert browser.get("/admin/").status_code == 302
    assert thief.get("/admin/").status_code == 302  # logged out on the server: the copy signs nobody in
    assert app.extensions["sessions"].count("admin_test") == 0


def test_idle_and_old_sessions_are_refused(app, clock):
    browser = admin_client(app)
    clock[0] += 29 * 60  # used within the idle limit: it stays, and is marked seen
    assert browser.get("/admin/").status_code == 200
    clock[0] += 29 * 60
    assert browser.get("/admin/").status_code == 200  # 58 min after login, but only 29 idle
    clock[0] += 31 * 60
    assert browser.get("/admin/").status_code == 302  # idle 31 min > SESSION_IDLE_MINUTES 30
    assert app.extensions["sessions"].count("admin_test") == 0  # the expired row is removed as it is met

    again = admin_client(app)
    for _ in range(4):  # busy all the time, but older than SESSION_MAX_HOURS 2 at the end
        clock[0] += 29 * 60
        assert again.get("/admin/").status_code == 200
    clock[0] += 5 * 60  # 121 min after the login
    assert again.get("/admin/").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, clock):
    store = app.extensions["sessions"]
    token = store.create("someone")
    seen = lambda: store.db.execute("SELECT last_seen_at FROM sessions WHERE id = ?",  # noqa: E731
                                    (hashlib.sha256(token.encode()).hexdigest(),))[0][0]
    start = seen()
    clock[0] += TOUCH_EVERY_S - 1
    assert store.check(token, "someone") and seen() == start
    clock[0] += 2
    assert store.check(token, "someone") and seen() == pytest.approx(clock[0])
    assert not store.check(token, "someone else")  # a token is one user's
    assert not store.check("made-up", "someone") and not store.check(None, "someone")


def test_the_table_holds_a_hash_not_the_token(app):
    store = app.extensions["sessions"]
    token = store.create("someone")
    ids = [row[0] for row in store.db.execute("SELECT id FROM sessions WHERE username = ?", ("someone",))]
    assert ids == [hashlib.sha256(token.encode()).hexdigest()] and token not in ids
    assert len(token) >= 22  # 128 random bits


def test_a_new_login_ends_the_session_the_old_cookie_named(app):
    browser = admin_client(app)
    before = copy_of(app, browser)
    token = csrf_token(browser, "/login")
    assert browser.post("/login", data={"username": "admin_test", "password": "correct horse battery",
                                        "csrf_token": token}).status_code == 302
    assert browser.get("/admin/").status_code == 200
    assert before.get("/admin/").status_code == 302  # the cookie from before the new login is dead
    assert app.extensions["sessions"].count("admin_test") == 1


def test_password_reset_and_disable_delete_the_rows(app):
    browser = admin_client(app)
    accounts = app.extensions["services"].accounts
    assert app.extensions["sessions"].count("admin_test") == 1
    accounts.reset_password("admin_test", "another long password")
    assert app.extensions["sessions"].count("admin_test") == 0 and browser.get("/admin/").status_code == 302
    accounts.create("reviewer_z", "correct horse battery", "reviewer")
    reviewer = app.test_client()
    token = csrf_token(reviewer)
    reviewer.post("/login", data={"username": "reviewer_z", "password": "correct horse battery", "csrf_token": token})
    assert app.extensions["sessions"].count("reviewer_z") == 1
    accounts.disable("reviewer_z")
    assert app.extensions["sessions"].count("reviewer_z") == 0
