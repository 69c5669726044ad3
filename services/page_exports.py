"""The shares and sections pages as files a reviewer files away: Excel (Chinese headers, a 说明 sheet with data status,
versions and method) and a printable PDF of the same table, from the page itself (the CLI's `--out` gives the
English-field table for scripts). Each export is audited as the page is."""
from __future__ import annotations

from geo.errors import NotFoundError
from render import pdf, report_model
from render.tables import sheets_to_xlsx
from services import sections, shares
from state.db import now

FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def _pct(x, fmt="%.3f"):
    return float(fmt % x) + 0.0 if x is not None else ""  # + 0.0: no "-0.0"


def _km2(x, fmt="%.3f"):
    return float(fmt % (x / 1e6)) if x is not None else ""


def _now() -> str:
    return report_model.date_zh(now())


SHARE_COLUMNS = ["指标", "计算值（%）", "规划值（%）", "2020 年（基准年）", "2025 年目标", "对照 2025 年目标", "差值（百分点）", "判定区间（%）", "状态",
                 "分子（km²）", "分母（km²）", "出处", "判定规则", "数据状态", "方法"]


def shares_table(ctx, actor, adcode: str) -> dict:
    """The 面积占比核对 table of a district: {"title", "columns", "rows", "about"}."""
    result = shares.shares_report(ctx, actor, adcode, geometry=False)
    plan = ctx.live.get().districts.plans[adcode]
    demo, official = ctx.vocab.statuses["data"]["demo"]["label"], ctx.vocab.statuses["data"]["official"]["label"]
    rows = []
    for r in result["indicators"]:
        source = r.get("source") or {}
        low_high = r.get("accepted_range_pct")
        rows.append({"指标": r["name_zh"], "计算值（%）": _pct(r["computed_pct"]), "规划值（%）": r["plan_figure"] if r["plan_figure"] is not None else "",
                     "2020 年（基准年）": r.get("value_2020_text") or "", "2025 年目标": r.get("target_2025_text") or "",
                     "对照 2025 年目标": (r.get("target_2025_status") or "") if r.get("target_2025_rule_zh") else "",
                     "差值（百分点）": _pct(r["diff_pct_points"]),
                     "判定区间（%）": f"{low_high[0]} ≤ x {'≤' if r.get('rule') == 'tolerance' else '<'} {low_high[1]}" if low_high else "",
                     "状态": r["status"], "分子（km²）": _km2(r["numerator_m2"]), "分母（km²）": _km2(r["denominator_m2"], "%.2f"),
                     "出处": f"《{plan['plan_title']}》第 {source['line']} 行" if source.get("line") else source.get("document") or "",
                     "判定规则": r.get("rule_zh") or "", "数据状态": demo if r.get("is_demo") else official, "方法": r.get("method") or ""})
    about = [("区县", f"{plan['name']}（{adcode}）"), ("规划", plan["plan_title"]),
             ("行政区界面积", f"{result['district_area_m2'] / 1e6:.2f} km²（CGCS2000 椭球面积）"),
             ("数据状态", demo if any(r.get("is_demo") for r in result["indicators"]) else official),
             ("数据版本", result.get("data_version", "")), ("导出时间", _now()),
             ("面积口径", "所有面积为 CGCS2000/GRS80 椭球面积，统计前先融合重叠图斑")]
    return {"title": f"{plan['name']}面积占比核对", "columns": SHARE_COLUMNS, "rows": rows, "about": about,
            "filename": f"shares-{adcode}", "notes": ["判定规则", "方法"]}


SECTION_COLUMNS = ["区县", "断面", "级别", "目标类别", "月份", "水质类别", "是否达标", "定类指标", "超标倍数"]


def sections_table(ctx, actor, adcode: str, period: str | None) -> dict:
    """The 监测断面水质 table of a district for a month."""
    ctx.live.get().districts.check(adcode)
    result = sections.sections_report(ctx, actor, adcode, period, title="断面水质导出")
    keys = ("district", "section", "level", "target_class", "period", "class", "compliant", "deciding_parameters", "exceedance")
    rows = [{label: row[key] for label, key in zip(SECTION_COLUMNS, keys)} for row in sections.report_rows(result)]
    plan = ctx.live.get().districts.plans[adcode]
    imports = result["data"]["imports"]
    about = [("区县", f"{plan['name']}（{adcode}）"), ("月份", result["period"] or ""), ("评价标准", "《地表水环境质量标准》（GB 3838-2002）"),
             ("监测数据", "、".join(f"{i['source_name']}（{i['n_records']} 条）" for i in imports) or "无"), ("导出时间", _now())]
    return {"title": f"{plan['name']}监测断面水质（{result['period'] or '无数据'}）", "columns": SECTION_COLUMNS, "rows": rows,
            "about": about, "filename": f"sections-{adcode}-{result['period'] or 'none'}"}


def render(table: dict, fmt: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of a page table as Excel or PDF."""
    if fmt not in FORMATS:
        raise NotFoundError(f"不支持的导出格式：{fmt[:20]}（可用 xlsx、pdf）", f"unknown export format {fmt[:20]}; use xlsx or pdf")
    if fmt == "xlsx":
        about = [{"项目": k, "内容": v} for k, v in table["about"]]
        content = sheets_to_xlsx([(table["title"][:31], table["columns"], table["rows"]), ("说明", ["项目", "内容"], about)])
    else:
        content = pdf.table_pdf(table["title"], table["columns"], table["rows"], table["about"], table.get("notes", []))
    return content, FORMATS[fmt], f"{table['filename']}.{fmt}"
