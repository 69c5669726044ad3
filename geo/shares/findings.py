"""Does the plan agree with itself and with our boundary? Findings in Chinese, with numbers and seed lines.

A stated area and a stated share imply a denominator (area ÷ share); the printed share is
rounded, so the denominator is a range. The red line's and the protected areas' implied
denominators are compared with each other and with the ellipsoidal area of our boundary.
"""
from __future__ import annotations

from geo.shares.indicators import (
    fmt_number,
    parse_number,
    plan_indicator,
    plan_source,
    to_km2,
)
from geo.shares.rules import STATUS_OK, figure_rule, half_unit, judge


def _implied(area_km2: float, share_pct: float, keys: tuple[str, str, str, str]) -> tuple[dict, dict, str]:
    """A stated area and share: the denominator they imply (area ÷ share) and its range under the share's rounding.

    Returns ({"implied_km2", "range_km2": [lo, hi]}, numbers under ``keys`` (area, share, implied, range), and the
    sentence "隐含分母约…（占比按四舍五入，范围约…）")."""
    h = half_unit(share_pct)
    imp = area_km2 / share_pct * 100.0
    lo, hi = area_km2 / (share_pct + h) * 100.0, area_km2 / (share_pct - h) * 100.0
    nums = dict(zip(keys, (area_km2, share_pct, round(imp, 2), [round(lo, 1), round(hi, 1)])))
    text = f"隐含分母约{fmt_number(imp)}平方公里（占比按四舍五入，范围约{fmt_number(lo)}–{fmt_number(hi)}平方公里）"
    return {"implied_km2": imp, "range_km2": [lo, hi]}, nums, text


def _area_not_stated(kind: str, subject: str, share_pct: float, src: dict, boundary_km2: float, share_key: str) -> dict:
    """Only a share is stated: the area it amounts to on our boundary."""
    est = share_pct / 100.0 * boundary_km2
    return {
        "kind": kind,
        "text": (
            f"规划只给{subject}{share_pct}%（第{src['line']}行），未给面积；按本服务行政区界椭球面积约{fmt_number(boundary_km2)}平方公里计，"
            f"相当于约{fmt_number(est)}平方公里。"
        ),
        "severity": "info",
        "numbers": {share_key: share_pct, "boundary_area_km2": round(boundary_km2, 2), "implied_area_km2": round(est, 2)},
        "source": src,
    }


def consistency_findings(plan: dict, district_area_m2: float | None) -> list[dict]:
    """Does the plan agree with itself and with our boundary? Findings in Chinese, with numbers and seed lines.

    Each finding: {"kind", "text", "severity" (high/medium/low/info), "numbers": {...}, "source": {"seed", "line"}}.
    Computed findings come first; the plan file's own ``findings`` follow (kind "plan_finding").
    """
    out: list[dict] = []
    rl = plan.get("redline") or {}
    boundary_km2 = to_km2(district_area_m2) if district_area_m2 else None
    rl_area, rl_share = rl.get("area_km2"), rl.get("share_pct")
    rl_src = plan_source(plan, rl.get("source"))
    rl_implied = None

    # 1. red line: stated area ÷ stated share vs our boundary
    if rl_area and rl_share:
        rl_implied, nums, implied_text = _implied(rl_area, rl_share, ("stated_area_km2", "stated_share_pct", "implied_denominator_km2", "implied_range_km2"))
        imp, (lo, hi) = rl_implied["implied_km2"], rl_implied["range_km2"]
        area_line = (rl.get("area_source") or {}).get("line")
        where = f"（面积见第{area_line}行，占比见第{rl_src['line']}行）" if area_line and area_line != rl_src["line"] else f"（第{rl_src['line']}行）"
        text = f"规划红线面积{fmt_number(rl_area, 2)}平方公里、占比{rl_share}%{where}，{implied_text}。"
        severity = "info"
        if boundary_km2:
            diff = boundary_km2 - imp
            rel = diff / imp * 100.0
            share_on_boundary = rl_area / boundary_km2 * 100.0
            nums.update(
                boundary_area_km2=round(boundary_km2, 2),
                diff_km2=round(diff, 2),
                diff_pct=round(rel, 2),
                share_on_boundary_pct=round(share_on_boundary, 3),
            )
            if lo <= boundary_km2 <= hi:
                text += f"本服务行政区界椭球面积约{fmt_number(boundary_km2)}平方公里，在此范围内，两者自洽。"
            else:
                severity = "high" if abs(rel) > 2 else ("medium" if abs(rel) > 0.5 else "low")
                text += (
                    f"本服务行政区界椭球面积约{fmt_number(boundary_km2)}平方公里，比隐含分母{'大' if diff > 0 else '小'}"
                    f"约{fmt_number(abs(diff))}平方公里（{fmt_number(abs(rel), 1 if abs(rel) >= 1 else 2)}%）；按行政区界计，红线{fmt_number(rl_area, 2)}平方公里"
                    f"占约{fmt_number(share_on_boundary, 2)}%（规划为{rl_share}%）。"
                )
                if severity != "high":
                    text += "差异很小，可能来自区界数据来源不同（本服务区界为高德行政区划转换，非官方勘界数据）。"
        for alt in rl.get("alternative_denominators") or []:
            alt_share = rl_area / alt["area_km2"] * 100.0
            text += (
                f"规划数据另给出替代分母“{alt['label']}”{fmt_number(alt['area_km2'])}平方公里，按其计红线占比约{fmt_number(alt_share, 2)}%，"
                f"与规划{rl_share}%{'相符' if judge(alt_share, figure_rule(rl_share)) == STATUS_OK else '不符'}；两种分母的结果并列给出。"
            )
            nums.setdefault("alternative_denominators", []).append(
                {"label": alt["label"], "area_km2": alt["area_km2"], "share_pct": round(alt_share, 3)}
            )
        out.append({"kind": "redline_implied_denominator", "text": text, "severity": severity, "numbers": nums, "source": rl_src})
    elif rl_share and boundary_km2:
        out.append(_area_not_stated("redline_area_not_stated", "红线占比", rl_share, rl_src, boundary_km2, "stated_share_pct"))

    # 2. 2020 share vs the current one
    ind = plan_indicator(plan, "redline_share")
    share_2020 = rl.get("share_pct_2020")
    if share_2020 is None and ind is not None:
        share_2020 = parse_number(ind.get("value_2020"))
    if rl_share is not None and share_2020 is not None and abs(share_2020 - rl_share) > 1e-9:
        diff = rl_share - share_2020
        rel = diff / share_2020 * 100.0
        ind_line = (ind or {}).get("source", {}).get("line")
        nums = {"share_2020_pct": share_2020, "share_current_pct": rl_share, "diff_pct_points": round(diff, 2), "relative_change_pct": round(rel, 1)}
        text = (
            f"生态保护红线面积比例2020年现状值{share_2020}%"
            + (f"（指标表第{ind_line}行）" if ind_line else "")
            + f"，规划现行值{rl_share}%（第{rl_src['line']}行），{'下降' if diff < 0 else '上升'}{fmt_number(abs(diff), 2)}个百分点"
            f"（相对{'减少' if diff < 0 else '增加'}约{fmt_number(abs(rel), 1)}%）"
        )
        if boundary_km2:
            a20, anow = share_2020 / 100 * boundary_km2, rl_share / 100 * boundary_km2
            nums.update(boundary_area_km2=round(boundary_km2, 2), area_2020_km2=round(a20, 1), area_current_km2=round(anow, 1))
            text += f"；按行政区界约{fmt_number(boundary_km2)}平方公里计，分别约{fmt_number(a20)}和{fmt_number(anow)}平方公里"
        text += "。本服务按现行值比对。"
        if diff < 0:
            text += "“面积不减少”类要求与比例下降并存，需核实是否为评估调整后的口径。"
        out.append(
            {
                "kind": "redline_share_2020_vs_current",
                "text": text,
                "severity": "high" if abs(diff) > 1 else "medium",
                "numbers": nums,
                "source": rl_src,
            }
        )

    # 3. protected-area stated area ÷ share vs the red line's implied denominator (and our boundary)
    pas = plan.get("protected_area_share") or {}
    pa_area, pa_share = pas.get("area_km2"), pas.get("share_pct")
    pa_src = plan_source(plan, pas.get("source"))
    if pa_area and pa_share:
        pa_imp, nums, implied_text = _implied(pa_area, pa_share, ("pa_area_km2", "pa_share_pct", "pa_implied_denominator_km2", "pa_implied_range_km2"))
        imp, (lo, hi) = pa_imp["implied_km2"], pa_imp["range_km2"]
        text = f"自然保护地面积{pa_area}平方公里、占比{pa_share}%（第{pa_src['line']}行），{implied_text}"
        severity = "info"
        if rl_implied:
            r_imp, (r_lo, r_hi) = rl_implied["implied_km2"], rl_implied["range_km2"]
            overlap = max(lo, r_lo) <= min(hi, r_hi)
            recomputed = pa_area / r_imp * 100.0
            nums.update(
                redline_implied_denominator_km2=round(r_imp, 2),
                redline_implied_range_km2=[round(r_lo, 1), round(r_hi, 1)],
                diff_km2=round(imp - r_imp, 2),
                pa_share_on_redline_denominator_pct=round(recomputed, 3),
            )
            text += (
                f"；红线（{fmt_number(rl_area, 2)}平方公里占{rl_share}%）隐含约{fmt_number(r_imp)}平方公里（范围约{fmt_number(r_lo)}–{fmt_number(r_hi)}），"
                f"相差约{fmt_number(imp - r_imp)}平方公里，"
            )
            if overlap:
                text += "两个范围有重叠，在四舍五入误差内一致。"
            else:
                severity = "medium"
                text += f"两个范围不重叠，两处用的分母不同。按红线隐含分母计，保护地占比应为约{fmt_number(recomputed, 2)}%。"
        else:
            text += "。"
        if boundary_km2:
            nums["boundary_area_km2"] = round(boundary_km2, 2)
            nums["pa_share_on_boundary_pct"] = round(pa_area / boundary_km2 * 100.0, 3)
            text += f"按本服务行政区界约{fmt_number(boundary_km2)}平方公里计，保护地占比约{fmt_number(pa_area / boundary_km2 * 100.0, 2)}%。"
        out.append({"kind": "pa_vs_redline_denominator", "text": text, "severity": severity, "numbers": nums, "source": pa_src})
    elif pa_share and boundary_km2:
        out.append(_area_not_stated("pa_area_not_stated", "自然保护地面积占比", pa_share, pa_src, boundary_km2, "pa_share_pct"))

    # 4. the plan file's own findings, passed through
    for f in plan.get("findings") or []:
        out.append({"kind": "plan_finding", "text": f["text"], "severity": "info", "numbers": {}, "source": plan_source(plan, f.get("source"))})
    return out
