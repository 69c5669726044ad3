"""The time one site's screening may take (SCREEN_BUDGET_SECONDS), so that no request holds a server thread for
minutes. Set around the work with `within(seconds, setting)`; the engine calls `check()` between features and kinds
(pure Python steps), and GEOS work that can blow up on a hostile shape gets `remaining()` as the budget of its child
process (geo.geos_work). Over budget is a TooLargeError (413) naming the setting."""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager

from geo.errors import TooLargeError

_current: contextvars.ContextVar = contextvars.ContextVar("screen_deadline", default=None)
UNSET_S = 60.0  # GEOS work outside any budget (a script calling the engine) is still stopped after a minute


def over_budget(budget_s: float, setting: str, what: str = "项目范围") -> TooLargeError:
    return TooLargeError(f"{what}过于复杂，初筛未能在 {budget_s:g} 秒内完成（可由设置 {setting} 提高）；"
                         "请减少节点或地块数（如在 GIS 软件中简化、拆分）后重试",
                         f"{what}: too complex to screen within {budget_s:g} s (setting {setting} raises it); "
                         "simplify or split the site and try again")


@contextmanager
def within(budget_s: float, setting: str = "SCREEN_BUDGET_SECONDS"):
    token = _current.set((time.monotonic() + budget_s, budget_s, setting))
    try:
        yield
    finally:
        _current.reset(token)


def remaining() -> float:
    """Seconds left (UNSET_S when no budget is set)."""
    now = _current.get()
    return UNSET_S if now is None else max(now[0] - time.monotonic(), 0.0)


def check() -> None:
    """Raise the 413 once the budget is spent."""
    now = _current.get()
    if now is not None and time.monotonic() > now[0]:
        raise over_budget(now[1], now[2])


def spent() -> TooLargeError:
    """The error for work that ran out of the current budget (or of the given default when none is set)."""
    now = _current.get()
    return over_budget(now[1], now[2]) if now else over_budget(UNSET_S, "SCREEN_BUDGET_SECONDS")
