"""A screening result in every form it leaves the service: JSON, overlap GeoJSON, CSV, Excel, PDF, an editable Word
report (render/docx_report.py), and for GIS and CAD users a zipped Shapefile and DXF in the site's Gauss-Krüger zone
and KML (render/gis_exports.py)."""
from __future__ import annotations

import json
import re

import shapely
import shapely.geometry

from geo import vocabulary
from geo.errors import DataError, NotFoundError
from render import docx_report, gis_exports, map_figure, pdf, report_model
from render.tables import rows_to_csv
from services import summary_table
from services.screening import coverage_text, stored_results

EXPORT_FORMATS = ("json", "geojson", "csv", "xlsx", "pdf", "docx", "shp", "kml", "dxf")
MIME = {"json": "application/json", "geojson": "application/geo+json", "csv": "text/csv", "pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "shp": "application/zip",
        "kml": "application/vnd.google-earth.kml+xml", "dxf": "image/vnd.dxf"}
FILE_SUFFIX = {"shp": "-shp.zip"}  # the file a format downloads as (default: .<format>)


def public(result):
    """The JSON view: everything but the geometry kept for maps and exports (keys starting with _)."""
    if isinstance(result, dict):
        return {k: public(v) for k, v in result.items() if not k.startswith("_")}
    if isinstance(result, list):
        return [public(v) for v in result]
    return result


def overlap_geojson(results: list[dict]) -> dict:
    """The overlap pieces (site ∩ zone) of every hit, in lon/lat, for GIS software: polygons for a
    polygon site, the line's runs inside for a line (part "line") and its corridor's overlaps
    (part "corridor"); a point site has none."""
    features = []
    for n, result in enumerate(results, 1):
        site = result["site"].get("name") or f"项目{n}"
        for layer in result["layers"]:
            for hit in layer["hits"]:
                for part, geom in (("site", hit["_overlap_geometry"]), ("corridor", hit.get("_corridor_overlap_geometry"))):
                    if geom is None or geom.is_empty or (part == "site" and result["site"].get("site_type") == "point"):
                        continue
                    part = "line" if part == "site" and result["site"].get("site_type") == "line" else part
                    props = {"site": site, "kind": layer["kind"], "feature_id": hit["id"], "name": hit["name"], "part": part,
                             "relation": hit["corridor_relation"] if part == "corridor" else hit["relation"]}
                    if part == "corridor":
                        props.update(overlap_m2=hit["corridor_overlap_m2"], overlap_pct_of_corridor=hit["corridor_overlap_pct"])
                    elif part == "line":
                        props.update(length_inside_m=hit["length_inside_m"], crossings=hit["crossings"])
                    else:
                        props.update(overlap_m2=hit["overlap_m2"], overlap_plane_m2=hit["overlap_plane_m2"],
                                     overlap_pct_of_site=hit["overlap_pct_of_site"])
                    features.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props})
    return {"type": "FeatureCollection", "features": features}


# One row per site × hit. Measures a site type does not have are empty (a point has no area, a
# polygon no length): never a 0 m² or 100 % that was not measured. Area columns are ellipsoidal,
# *_plane_* columns the Gauss-Krüger plane area in plane_epsg.
CSV_COLUMNS = ("site", "site_type", "kind", "layer", "feature_id", "name", "relation", "relation_zh", "overlap_m2", "overlap_ha",
               "overlap_plane_m2", "overlap_pct_of_site", "length_inside_m", "length_pct_of_line", "crossings", "corridor_relation",
               "corridor_overlap_m2", "corridor_overlap_pct", "distance_m", "distance_band", "site_area_m2", "site_plane_area_m2",
               "site_length_m", "corridor_width_m", "plane_epsg", "coverage")
HIT_COLUMNS = ("relation", "overlap_m2", "overlap_ha", "overlap_plane_m2", "overlap_pct_of_site", "length_inside_m", "length_pct_of_line",
               "crossings", "corridor_relation", "corridor_overlap_m2", "corridor_overlap_pct", "distance_m", "distance_band")


def _cell(value):
    return "" if value is None else value


def result_rows(results: list[dict], vocab=None) -> list[dict]:
    """One row per site × hit, one per site × layer kind with no hit whose search radius is not wholly
    covered by loaded data (无法判定), and one per site with neither, for CSV/Excel."""
    vocab = vocab or vocabulary.default()
    rows = []
    for n, result in enumerate(results, 1):
        s = result["site"]
        base = {"site": s.get("name") or f"项目{n}", "site_type": s.get("site_type", ""), "site_area_m2": _cell(s.get("area_m2")),
                "site_plane_area_m2": _cell(s.get("plane_area_m2")), "site_length_m": _cell(s.get("length_m")),
                "corridor_width_m": _cell((s.get("corridor") or {}).get("width_m")), "plane_epsg": _cell(s.get("plane_epsg"))}
        blank = {**dict.fromkeys(CSV_COLUMNS, ""), **base}
        any_hit = False
        for layer in result["layers"]:
            for hit in layer["hits"]:
                any_hit = True
                rows.append({**blank, "kind": layer["kind"], "layer": layer["name_zh"], "feature_id": hit["id"], "name": hit["name"],
                             **{c: _cell(hit.get(c)) for c in HIT_COLUMNS},
                             "relation_zh": vocab.relations[hit["relation"]]["label"],
                             "coverage": coverage_text(layer.get("coverage"))})
            if not layer["hits"] and layer.get("coverage") and not layer["coverage"]["complete"]:
                any_hit = True
                rows.append({**blank, "kind": layer["kind"], "layer": layer["name_zh"],
                             "name": f"{vocab.statuses['verdict']['unknown']['label']}：{layer['coverage']['note_zh']}",
                             "coverage": coverage_text(layer["coverage"])})
        if not any_hit:
            rows.append({**blank, "name": f"{vocab.statuses['verdict']['clear']['label']}（距离分级范围内无要素）",
                         "coverage": coverage_text(None)})
    # parts of the input file that were not screened: said in the table too, never dropped silently
    skipped = results[0].get("input_skipped", []) if results else []
    return [{**dict.fromkeys(CSV_COLUMNS, ""), "site": "（输入文件）", "name": f"未参与初筛：{part}"} for part in skipped] + rows


def response_body(results: list[dict], rid: str, links: dict) -> dict:
    """The JSON answer of a screening: one site as an object, several as {"sites": [...]}."""
    body = public(results[0]) if len(results) == 1 else {"sites": public(results)}
    body["skipped"] = list(results[0].get("input_skipped", [])) if results else []  # parts of the input not screened
    body["result_id"] = rid
    body["links"] = links
    return body


UNSAFE_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
MAX_NAME_CHARS = 60


def fallback_name(rid: str, fmt: str, table: str | None = None) -> str:
    """The ASCII file name (for clients that cannot read an RFC 5987 one): screening-<id>."""
    return f"screening-{rid}{'-summary' if table == 'summary' else ''}{FILE_SUFFIX.get(fmt, '.' + fmt)}"


def download_name(results: list[dict], rid: str, fmt: str, table: str | None = None) -> str:
    """What a reviewer saves the file as: the project name, else the (single) site's name, then 选址初筛 and the
    first characters of the id (two checks of one project do not overwrite each other); screening-<id> when neither
    is known. Characters a file system refuses are dropped."""
    project = (results[0].get("project") or {}).get("name") if results else None
    site = results[0]["site"].get("name") if len(results) == 1 else None
    base = UNSAFE_IN_FILE_NAMES.sub(" ", str(project or site or "")).strip(" .")
    base = re.sub(r"\s+", " ", base)[:MAX_NAME_CHARS].strip()
    if not base:
        return fallback_name(rid, fmt, table)
    return f"{base}-选址初筛{'-汇总表' if table == 'summary' else ''}-{rid[:6]}{FILE_SUFFIX.get(fmt, '.' + fmt)}"


CSV_TABLES = ("hits", "summary")  # csv: hits (default) one row per site × hit, English field names; summary: the 汇总表


def screening_export(ctx, rid: str, fmt: str, links: dict, encoding: str | None = None,
                     viewer=None, table: str | None = None) -> tuple[bytes | str, str, str]:
    """(content, media type, file name) of a stored result in one export format, as viewer may read it (RESULTS_PRIVATE).
    encoding (Shapefile): gbk (default) or utf-8; table (CSV): hits (default) or summary."""
    results = stored_results(ctx, rid, viewer)
    if fmt not in EXPORT_FORMATS:
        raise NotFoundError(f"不支持的导出格式：{fmt[:20]}", f"unknown export format {fmt[:20]}")
    if encoding not in (None, "", *gis_exports.SHAPE_ENCODINGS):
        raise DataError(f"Shapefile 编码只能是 gbk 或 utf-8，收到：{encoding[:20]}", f"encoding must be gbk or utf-8, got {encoding[:20]!r}")
    if table not in (None, "", *CSV_TABLES) or (table and fmt != "csv"):
        raise DataError(f"table 只用于 CSV，取值 hits 或 summary，收到：{str(table)[:20]}", "table applies to csv only: hits or summary")
    name = download_name(results, rid, fmt, table)
    if fmt == "json":
        content = json.dumps(response_body(results, rid, links), ensure_ascii=False, indent=1)
    elif fmt == "geojson":
        content = json.dumps(overlap_geojson(results), ensure_ascii=False)
    elif fmt == "csv":
        content = (summary_table.summary_csv(results, ctx.vocab) if table == "summary"
                   else rows_to_csv(result_rows(results, ctx.vocab), CSV_COLUMNS))
    elif fmt == "xlsx":
        content = summary_table.workbook(results, ctx.vocab, detail=(CSV_COLUMNS, result_rows(results, ctx.vocab)))
    elif fmt == "shp":
        content = gis_exports.shapefile_zip(results, ctx.vocab, encoding or "gbk")
    elif fmt == "kml":
        content = gis_exports.kml(results, ctx.vocab)
    elif fmt == "dxf":
        content = gis_exports.dxf(results, ctx.vocab)
    else:  # a report: every site in full up to REPORT_DETAIL_SITES, else a summary and the most severe in full
        shown = report_selection(results, ctx.vocab)
        picked = [results[i - 1] for i in shown["indices"]]
        render = docx_report.screening_docx if fmt == "docx" else pdf.screening_pdf
        content = render(picked, public(picked), ctx.vocab, summary=shown["summary"], indices=shown["indices"],
                         figures=site_figures(ctx, picked, shown["indices"]))
    return content, MIME[fmt], name


def figure_title(result: dict, index: int) -> str:
    """图名 of a site's map: the project's name and the site's, once each."""
    project = (result.get("project") or {}).get("name")
    site = result["site"].get("name") or f"项目{index}"
    name = project if not project or project == site else f"{project}（{site}）"
    return f"{name or site}选址与生态环境管控区位置关系图"


def site_figures(ctx, results: list[dict], indices: list[int]) -> list[bytes]:
    """The map figure (PNG) of each site shown in a report, with its district in the 位置示意图."""
    screening = ctx.live.get().screening
    districts = dict(zip(map(str, screening.district_codes), screening.district_geoms))
    out = []
    for index, r in zip(indices, results):
        demo = any(layer["is_demo"] for layer in r["layers"])
        status = ctx.vocab.statuses["data"]["demo" if demo else "official"]["label"]
        foot = (f"数据状态：{status} · CGCS2000 3° 带第 {r['site']['plane_zone']} 带（X 北坐标 / Y 东坐标，米）· "
                f"制图日期：{report_model.date_zh(r['method']['checked_at']).split(' ')[0]} · 初筛用图，以主管部门审定的数据为准")
        out.append(map_figure.site_figure(r, ctx.vocab, figure_title(r, index),
                                          [districts[d["adcode"]] for d in r["site"]["districts"] if d["adcode"] in districts], foot))
    return out


PAGE_SITES = 50  # sites per result page (a 2,000-site page took 14 s and 2 GB in one piece)


def page_of(results: list[dict], page) -> dict:
    """One page of a screening's result page: {"page", "pages", "start" (0-based), "results"}; a bad or out-of-range
    page number gives the nearest page."""
    pages = max(1, -(-len(results) // PAGE_SITES))
    try:
        number = min(max(int(str(page or 1)[:6]), 1), pages)
    except ValueError:
        number = 1
    start = (number - 1) * PAGE_SITES
    return {"page": number, "pages": pages, "start": start, "results": results[start:start + PAGE_SITES], "n_sites": len(results)}


REPORT_DETAIL_SITES = 10  # a PDF or Word report shows this many sites in full (a 200-site PDF took 34 s and 1 GB)
REPORT_SUMMARY_ROWS = 100  # and lists at most this many in its summary table; the Excel table has every site
SEVERITY = ("involved", "unknown", "contact", "near", "clear")  # the verdict levels, most severe first


def report_selection(results: list[dict], vocab) -> dict:
    """Which sites a report shows: {"indices": 1-based numbers of the sites shown in full, "summary": None when that
    is all of them, else the counts per conclusion and the summary rows, most severe first}. The cost of a report
    is then bounded whatever the size of the screening."""
    n = len(results)
    if n <= REPORT_DETAIL_SITES:
        return {"indices": list(range(1, n + 1)), "summary": None}
    labels = [vocab.statuses["verdict"][k]["label"] for k in SEVERITY]
    rank = {label: i for i, label in enumerate(labels)}
    order = sorted(range(n), key=lambda i: (rank.get(results[i]["verdict"]["level"], len(labels)), i))
    counts = {label: 0 for label in labels}
    for r in results:
        counts[r["verdict"]["level"]] = counts.get(r["verdict"]["level"], 0) + 1
    rows = [{"index": i + 1, "name": results[i]["site"].get("name") or f"项目{i + 1}", "level": results[i]["verdict"]["level"],
             "summary": _clipped(results[i]["verdict"]["summary"], 160)} for i in order[:REPORT_SUMMARY_ROWS]]
    return {"indices": sorted(i + 1 for i in order[:REPORT_DETAIL_SITES]),
            "summary": {"n_sites": n, "counts": [(label, c) for label, c in counts.items() if c], "rows": rows,
                        "rows_omitted": n - len(rows),
                        "note": f"本次共初筛 {n} 个地块。汇总表按结论（{' > '.join(labels)}）列出{'前 ' + str(len(rows)) + ' 个' if len(rows) < n else '全部'}地块；"
                                f"逐地块详细结果只列出其中最前的 {REPORT_DETAIL_SITES} 个，全部地块的完整结果见 Excel 汇总表（.xlsx）与结果页面。"}}


def _clipped(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"
