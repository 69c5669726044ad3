"""How a computed share is judged against a plan figure: the rounding interval the figure stands
for, or a configured tolerance.

A plan prints 10.6 %: a rounded figure, so it stands for every value that rounds to it, half a
unit of the last printed decimal either side: 10.55 ≤ x < 10.65. The decimals are read from the
figure as the plan data writes it ('≥7.62' → 2, '9.3[3]' → 1, '52' → 0; a YAML number by its
shortest representation, 10.6 → 1, which is how the plan file spells it). Only when a tolerance
is configured (SHARE_TOLERANCE_PP) is the figure judged as plan ± tolerance instead. Either way
the row says which rule it used, in words.

A target with a comparison ('≥7.62', '≤35') is met when the computed value would round to a
figure that meets it: ≥ 7.62 means x ≥ 7.615; ≤ 35 means x < 35.5 (with a tolerance: ≥ 7.62 − t).
"""
from __future__ import annotations

import re
from decimal import Decimal

from geo import vocabulary

RULE_ROUNDING = "rounding"
RULE_TOLERANCE = "tolerance"
STATUS_OK = vocabulary.status("share", "ok")
STATUS_FAIL = vocabulary.status("share", "fail")
STATUS_NONE = vocabulary.status("share", "none")

_FIGURE_RE = re.compile(r"^\s*(≥|>=|＞=|≤|<=|＜=|>|＞|<|＜)?\s*(-?\d+(?:\.\d+)?)")
_OPS = {"≥": "≥", ">=": "≥", "＞=": "≥", "≤": "≤", "<=": "≤", "＜=": "≤", ">": ">", "＞": ">", "<": "<", "＜": "<"}


def figure_text(figure) -> str | None:
    """A plan figure as written: strings as they are, YAML numbers by their shortest form (10.6, 52)."""
    if figure is None or isinstance(figure, bool):
        return None
    return repr(figure) if isinstance(figure, float) else str(figure)


def parse_figure(figure) -> tuple[str | None, Decimal] | None:
    """(comparison or None, the number exactly as written) of a plan figure; None when it has no leading number."""
    text = figure_text(figure)
    m = _FIGURE_RE.match(text) if text is not None else None
    if not m:
        return None
    return (_OPS[m.group(1)] if m.group(1) else None), Decimal(m.group(2))


def stated_decimals(figure) -> int | None:
    """Decimals of the figure as written: '10.6' → 1, '≥7.62' → 2, '9.3[3]' → 1, 52 → 0; None without a number."""
    parsed = parse_figure(figure)
    return None if parsed is None else max(-parsed[1].as_tuple().exponent, 0)


def half_unit(figure) -> float:
    """Half a unit of the figure's last stated decimal: 7.62 → 0.005, 9.3 → 0.05, 52 → 0.5."""
    d = stated_decimals(figure)
    return float(Decimal(5).scaleb(-(d or 0) - 1))


def _fmt(x: Decimal | float, nd: int) -> str:
    return f"{float(x):.{nd}f}"


def figure_rule(figure, tolerance: float | None = None, what: str = "规划值") -> dict | None:
    """The interval a plan figure stands for, and the rule that gave it; None when the figure has no number.

    {"rule": "rounding" | "tolerance", "rule_label": (vocabulary word), "op": None | "≥" | "≤" | ">" | "<",
    "figure": the figure as written, "value": its number, "decimals", "lower_pct" (inclusive),
    "upper_pct" (None when unbounded), "upper_inclusive" (false for rounding: 10.65 rounds to 10.7), "half_width_pct_points", "rule_zh"}.
    """
    parsed = parse_figure(figure)
    if parsed is None:
        return None
    op, value = parsed
    text = figure_text(figure).strip()
    d = max(-value.as_tuple().exponent, 0)
    if tolerance is None:
        rule, h = RULE_ROUNDING, Decimal(5).scaleb(-d - 1)
        nd = d + 1
    else:
        rule, h = RULE_TOLERANCE, Decimal(str(tolerance))
        nd = max(d, max(-h.as_tuple().exponent, 0))
    lo, hi = value - h, value + h
    if rule == RULE_ROUNDING:
        # the computed values that round (half up) to a figure meeting the comparison; lower bounds are inclusive
        lower, upper = {None: (lo, hi), "≥": (lo, None), ">": (hi, None), "≤": (None, hi), "<": (None, lo)}[op]
    else:
        lower, upper = {None: (lo, hi), "≥": (lo, None), ">": (lo, None), "≤": (None, hi), "<": (None, hi)}[op]
    upper_inclusive = rule == RULE_TOLERANCE
    cmp = "≤" if upper_inclusive else "<"
    if lower is not None and upper is not None:
        interval = f"{_fmt(lower, nd)} ≤ 计算值 {cmp} {_fmt(upper, nd)}"
    elif lower is not None:
        interval = f"计算值 ≥ {_fmt(lower, nd)}"
    else:
        interval = f"计算值 {cmp} {_fmt(upper, nd)}"
    if rule == RULE_ROUNDING:
        digits = f"保留 {d} 位小数" if d else "为整数"
        why = f"{what}“{text}”{digits}，是修约后的数，代表末位半个单位（±{_fmt(h, nd)}）以内的值"
    else:
        why = f"{what}“{text}”按设定容差 ±{_fmt(h, nd)} 个百分点（设置 SHARE_TOLERANCE_PP）"
    return {
        "rule": rule,
        "rule_label": vocabulary.status("share_rule", rule),
        "op": op,
        "figure": text,
        "value": float(value),
        "decimals": d,
        "lower_pct": None if lower is None else float(lower),
        "upper_pct": None if upper is None else float(upper),
        "upper_inclusive": upper_inclusive,
        "half_width_pct_points": float(h),
        "rule_zh": f"{vocabulary.status('share_rule', rule)}：{why}，判定区间 {interval}",
    }


_WORDS = {"share": ("ok", "fail", "none"), "target": ("met", "not_met", "undetermined")}


def judge(computed: float | None, rule: dict | None, words: str = "share") -> str:
    """Whether the computed value lies in the rule's interval, in the vocabulary's words: the ``share`` set
    (符合 / 不符合 / 无目标, for a stated figure) or the ``target`` set (达标 / 未达标 / 无法判断, for a target)."""
    ok, fail, none = (vocabulary.status(words, k) for k in _WORDS[words])
    if rule is None or computed is None:
        return none
    eps = 1e-9 if rule["rule"] == RULE_TOLERANCE else 0.0  # a tolerance is a closed interval; float noise at its edge
    lo, hi = rule["lower_pct"], rule["upper_pct"]
    if lo is not None and computed < lo - eps:
        return fail
    if hi is not None and not (computed <= hi + eps if rule["upper_inclusive"] else computed < hi):
        return fail
    return ok
