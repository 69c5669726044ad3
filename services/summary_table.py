"""The 汇总表 of a screening, in reviewers' words: one row per site with its conclusion per layer kind (the same words
and figures as the reports, render/report_model.py), a sheet per layer kind with every hit, and a 说明 sheet with
the project information, data status and versions, coordinate systems and method. Chinese headers; the Excel file
and its CSV form (UTF-8 with BOM) carry the 示意 flag on every row."""
from __future__ import annotations

from geo import project_info
from geo.screening import INSIDE
from render import report_model
from render.tables import rows_to_csv, sheets_to_xlsx


def _status(result: dict, vocab) -> str:
    """数据状态 of a site's answer: 示意/正式 per kind with the versions used."""
    data = vocab.statuses["data"]
    versions = result["method"]["data"]["layer_versions"]
    demo = any(layer["is_demo"] for layer in result["layers"])
    published = sorted({v for v in versions.values() if not str(v).startswith("demo:")})
    word = data["demo"]["label"] if demo else data["official"]["label"]
    if demo and published:
        word = f"{data['demo']['label']}与{data['official']['label']}"
    return word + (f"（正式版本 {'、'.join(published)}）" if published else "")


def _project_columns(results: list[dict], vocab) -> list[tuple[str, str]]:
    project = (results[0].get("project") or {}) if results else {}
    return [(key, spec["label"]) for key, spec in vocab.project_fields.items() if project.get(key)]


def summary(results: list[dict], vocab) -> tuple[list[str], list[dict]]:
    """(columns, rows) of the 汇总表: one row per site."""
    kinds = [k for k in vocab.screened if not k.zoning]
    zoning = [k for k in vocab.screened if k.zoning]
    project_cols = _project_columns(results, vocab)
    columns = [label for _, label in project_cols] + ["序号", "名称", "类型", "中心点经度", "中心点纬度", "中心点 X（北坐标，m）", "中心点 Y（东坐标，m）",
                                                      "面积（椭球，m²）", "面积（公顷）", "投影面积（m²）", "线路长度（m）", "总体结论"]
    for k in kinds:
        columns += [f"{k.name_zh}结论", f"{k.name_zh}涉及要素名称", f"{k.name_zh}重叠面积（m²）", f"{k.name_zh}最近距离（m）", f"{k.name_zh}依据"]
    columns += [f"所在{k.name_zh}" for k in zoning] + ["数据状态", "坐标系"]
    project = (results[0].get("project") or {}) if results else {}
    rows = []
    for n, r in enumerate(results, 1):
        s = r["site"]
        gk = s.get("centroid_gk3") or {}
        row = {label: project[key] for key, label in project_cols}
        row.update({"序号": n, "名称": s.get("name") or f"项目{n}", "类型": {"polygon": "面", "line": "线", "point": "点"}.get(s.get("site_type"), ""),
                    "中心点经度": s["centroid"]["lon"], "中心点纬度": s["centroid"]["lat"], "中心点 X（北坐标，m）": gk.get("x_north_m", ""),
                    "中心点 Y（东坐标，m）": gk.get("y_east_m", ""), "面积（椭球，m²）": s.get("area_m2", ""), "面积（公顷）": s.get("area_ha", ""),
                    "投影面积（m²）": s.get("plane_area_m2", ""), "线路长度（m）": s.get("length_m", ""), "总体结论": r["verdict"]["level"],
                    "数据状态": _status(r, vocab),
                    "坐标系": f"CGCS2000；平面坐标 3° 带第 {s.get('plane_zone')} 带（EPSG:{s.get('plane_epsg')}）"})
        conclusions = {c["kind"]: c for c in report_model.layer_conclusions(r, vocab)}
        for layer in r["layers"]:
            kind = vocab.kinds[layer["kind"]]
            if layer.get("zoning"):
                units = [h for h in layer["hits"] if h["relation"] in INSIDE]
                row[f"所在{kind.name_zh}"] = "、".join(f"{h['attributes'].get(kind.name_by, '') if kind.name_by else ''} {h['name']}".strip()
                                                      for h in units) or "（无单元数据）"
                continue
            c = conclusions.get(layer["kind"])
            inside = [h for h in layer["hits"] if h["relation"] in INSIDE or h.get("corridor_relation") in INSIDE]
            distances = [h["distance_m"] for h in layer["hits"] if h.get("distance_m") is not None]
            row.update({f"{kind.name_zh}结论": c["level"] if c else "", f"{kind.name_zh}涉及要素名称": "、".join(dict.fromkeys(h["name"] for h in inside)),
                        f"{kind.name_zh}重叠面积（m²）": layer.get("total_overlap_m2") if inside and s.get("site_type") == "polygon" else "",
                        f"{kind.name_zh}最近距离（m）": round(min(distances), 1) if distances else "",
                        f"{kind.name_zh}依据": c["figures"] if c else ""})
        rows.append(row)
    return columns, rows


HIT_COLUMNS = ["序号", "地块名称", "要素名称", "要素编号", "关系", "重叠面积（椭球，m²）", "重叠面积（投影，m²）", "占项目（%）", "线路在其内长度（m）",
               "穿越处数", "距离（m）", "距离分级", "所在区县代码", "数据状态", "图层版本"]


def kind_sheets(results: list[dict], vocab) -> list[tuple[str, list[str], list[dict]]]:
    """A sheet per screened layer kind with every hit of every site."""
    data = vocab.statuses["data"]
    sheets = []
    for kind in vocab.screened:
        group = kind.attribute(kind.group_by).label if kind.group_by else None
        columns = HIT_COLUMNS[:4] + ([group] if group else []) + HIT_COLUMNS[4:]
        rows = []
        for n, r in enumerate(results, 1):
            versions = r["method"]["data"]["layer_versions"]
            for layer in (x for x in r["layers"] if x["kind"] == kind.key):
                for h in layer["hits"]:
                    adcode = str(h["attributes"].get("adcode", ""))
                    row = {"序号": n, "地块名称": r["site"].get("name") or f"项目{n}", "要素名称": h["name"], "要素编号": h["id"],
                           "关系": vocab.relations[h["relation"]]["label"], "重叠面积（椭球，m²）": h.get("overlap_m2"),
                           "重叠面积（投影，m²）": h.get("overlap_plane_m2"), "占项目（%）": h.get("overlap_pct_of_site"),
                           "线路在其内长度（m）": h.get("length_inside_m"), "穿越处数": h.get("crossings"), "距离（m）": h.get("distance_m"),
                           "距离分级": h.get("distance_band"), "所在区县代码": adcode,
                           "数据状态": data["demo" if h.get("is_demo") else "official"]["label"], "图层版本": versions.get(f"{adcode}/{kind.key}", "")}
                    if group:
                        row[group] = h["attributes"].get(kind.group_by, "")
                    rows.append({k: ("" if v is None else v) for k, v in row.items()})
        sheets.append((kind.name_zh, columns, rows))
    return sheets


def about(results: list[dict], vocab) -> tuple[list[str], list[dict]]:
    """The 说明 sheet: project information, data status and version, coordinate systems, method, caveat."""
    project = (results[0].get("project") or {}) if results else {}
    method = results[0]["method"] if results else {}
    rows = [{"项目": label, "内容": value} for label, value in project_info.rows(project, vocab.project_fields)]
    demo = any(layer["is_demo"] for r in results for layer in r["layers"])
    rows += [{"项目": "数据状态", "内容": vocab.statuses["data"]["demo" if demo else "official"]["label"]
              + ("（含按规划公布数字校准的示意图层，不能作为审查依据）" if demo else "")},
             {"项目": "数据版本", "内容": method.get("data", {}).get("version", "")},
             {"项目": "初筛时间", "内容": report_model.date_zh(method.get("checked_at", ""))},
             {"项目": "坐标系", "内容": "经纬度为 CGCS2000；X/Y 为各地块所在 CGCS2000 3° 带高斯-克吕格平面坐标（X 北、Y 东，含带号）"},
             {"项目": "面积", "内容": method.get("area", "")}, {"项目": "投影面积", "内容": method.get("plane_area", "")},
             {"项目": "距离", "内容": method.get("distance", "")}, {"项目": "重叠", "内容": method.get("overlap", "")},
             {"项目": "地块数", "内容": len(results)}, {"项目": "注意", "内容": method.get("caveat", "")}]
    for part in (results[0].get("input_skipped") or []) if results else []:
        rows.append({"项目": "未参与初筛", "内容": part})
    return ["项目", "内容"], rows


def workbook(results: list[dict], vocab, detail: tuple[list, list[dict]] | None = None) -> bytes:
    """汇总表, a sheet per kind, 说明, and (detail: columns, rows) the per-hit table with English field names for scripts."""
    sheets = [("汇总表", *summary(results, vocab)), *kind_sheets(results, vocab), ("说明", *about(results, vocab))]
    if detail is not None:
        sheets.append(("明细（英文字段）", *detail))
    return sheets_to_xlsx(sheets)


def summary_csv(results: list[dict], vocab) -> str:
    columns, rows = summary(results, vocab)
    return rows_to_csv(rows, columns)
