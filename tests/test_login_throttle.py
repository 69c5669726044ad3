"""Failed logins are counted per account name as well as per client: after LOGIN_FREE_FAILURES in a row the name is
locked for LOGIN_LOCK_SECONDS, doubling with each further failure, from every address and for HTTP Basic too;
the lock is audited and a successful login afterwards clears the count."""
import base64

import pytest

import state.accounts as accounts
from conftest import csrf_token

PASSWORD = "correct horse battery"


@pytest.fixture()
def app(make_app):
    app = make_app(RATE_LIMIT_PER_MINUTE=1000)  # the per-client budget out of the way
    app.extensions["services"].accounts.create("admin_lock", PASSWORD, "admin")
    return app


def attempt(app, password: str, ip: str = "10.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    token = csrf_token(client)
    return client.post("/login", data={"username": "admin_lock", "password": password, "csrf_token": token})


def test_a_name_is_locked_after_failures_in_a_row_from_any_address(app, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(accounts.time, "time", lambda: clock[0])
    for i in range(accounts.LOGIN_FREE_FAILURES):
        assert attempt(app, "wrong password", ip=f"10.0.0.{i}").status_code == 401
    for ip in ("10.0.0.1", "192.168.9.9"):  # every address; even the right password waits
        resp = attempt(app, PASSWORD, ip=ip)
        assert resp.status_code == 429 and "连续登录失败次数过多" in resp.get_data(as_text=True)
    entries = [e for e in app.extensions["services"].audit.entries() if e["action"] == "login_locked"]
    assert len(entries) == 1 and "admin_lock" in entries[0]["summary"] and f"{accounts.LOGIN_LOCK_SECONDS} 秒" in entries[0]["summary"]
    # the lock runs out: one more failure locks for twice as long
    clock[0] += accounts.LOGIN_LOCK_SECONDS + 1
    assert attempt(app, "wrong again").status_code == 401
    assert app.extensions["services"].accounts.locked_for("admin_lock") == pytest.approx(2 * accounts.LOGIN_LOCK_SECONDS)
    clock[0] += 2 * accounts.LOGIN_LOCK_SECONDS + 1
    assert attempt(app, PASSWORD).status_code == 302  # signed in; the count starts again
    assert app.extensions["services"].accounts.record_failure("admin_lock") == {"failures": 1, "locked_for_s": 0.0}


def test_the_lock_has_a_ceiling(app, monkeypatch):
    clock = [2_000_000.0]
    monkeypatch.setattr(accounts.time, "time", lambda: clock[0])
    store = app.extensions["services"].accounts
    locks = [store.record_failure("admin_lock")["locked_for_s"] for _ in range(accounts.LOGIN_FREE_FAILURES + 10)]
    assert locks[:accounts.LOGIN_FREE_FAILURES - 1] == [0.0] * (accounts.LOGIN_FREE_FAILURES - 1)
    assert locks[accounts.LOGIN_FREE_FAILURES - 1:accounts.LOGIN_FREE_FAILURES + 2] == [30.0, 60.0, 120.0]
    assert max(locks) == accounts.LOGIN_LOCK_MAX_SECONDS


def test_http_basic_counts_and_is_locked_too(app):
    client = app.test_client()

    def basic(password):
        token = base64.b64encode(f"admin_lock:{password}".encode()).decode()
        return client.get("/ogcapi/jobs", headers={"Authorization": f"Basic {token}"})

    for _ in range(accounts.LOGIN_FREE_FAILURES):
        assert basic("wrong password").status_code == 401
    resp = basic(PASSWORD)
    assert resp.status_code == 429 and "too many failed logins" in resp.get_json()["detail"]
