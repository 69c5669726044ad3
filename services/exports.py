"""A screening result in every form it leaves the service: JSON, overlap GeoJSON, CSV, Excel, PDF."""
from __future__ import annotations

import json

import shapely
import shapely.geometry

from geo import vocabulary
from geo.errors import NotFoundError
from render import pdf
from render.tables import rows_to_csv, rows_to_xlsx
from services.screening import stored_results

EXPORT_FORMATS = ("json", "geojson", "csv", "xlsx", "pdf")
MIME = {"json": "application/json", "geojson": "application/geo+json", "csv": "text/csv", "pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def public(result):
    """The JSON view: everything but the geometry kept for maps and exports (keys starting with _)."""
    if isinstance(result, dict):
        return {k: public(v) for k, v in result.items() if not k.startswith("_")}
    if isinstance(result, list):
        return [public(v) for v in result]
    return result


def overlap_geojson(results: list[dict]) -> dict:
    """The overlap pieces (site ∩ zone) of every hit, in lon/lat, for GIS software."""
    features = []
    for n, result in enumerate(results, 1):
        for layer in result["layers"]:
            for hit in layer["hits"]:
                if hit["_overlap_geometry"] is not None and not hit["_overlap_geometry"].is_empty:
                    features.append({"type": "Feature", "geometry": shapely.geometry.mapping(hit["_overlap_geometry"]),
                                     "properties": {"site": result["site"].get("name") or f"项目{n}", "kind": layer["kind"],
                                                    "feature_id": hit["id"], "name": hit["name"], "relation": hit["relation"],
                                                    "overlap_m2": hit["overlap_m2"], "overlap_pct_of_site": hit["overlap_pct_of_site"]}})
    return {"type": "FeatureCollection", "features": features}


CSV_COLUMNS = ("site", "kind", "layer", "feature_id", "name", "relation", "overlap_m2", "overlap_ha", "overlap_pct_of_site",
               "distance_m", "distance_band")


def result_rows(results: list[dict]) -> list[dict]:
    """One row per site × hit (and one per site with no hit), for CSV/Excel."""
    rows = []
    for n, result in enumerate(results, 1):
        site = result["site"].get("name") or f"项目{n}"
        any_hit = False
        for layer in result["layers"]:
            for hit in layer["hits"]:
                any_hit = True
                rows.append({"site": site, "kind": layer["kind"], "layer": layer["name_zh"], "feature_id": hit["id"], "name": hit["name"],
                             "relation": hit["relation"], "overlap_m2": hit["overlap_m2"], "overlap_ha": hit["overlap_ha"],
                             "overlap_pct_of_site": hit["overlap_pct_of_site"], "distance_m": hit["distance_m"],
                             "distance_band": hit["distance_band"]})
        if not any_hit:
            rows.append({"site": site, "kind": "", "layer": "", "feature_id": "",
                         "name": f"{vocabulary.status('verdict', 'clear')}（距离分级范围内无要素）",
                         "relation": "", "overlap_m2": 0, "overlap_ha": 0, "overlap_pct_of_site": 0, "distance_m": "", "distance_band": ""})
    return rows


def response_body(results: list[dict], rid: str, links: dict) -> dict:
    """The JSON answer of a screening: one site as an object, several as {"sites": [...]}."""
    body = public(results[0]) if len(results) == 1 else {"sites": public(results)}
    body["result_id"] = rid
    body["links"] = links
    return body


def screening_export(ctx, rid: str, fmt: str, links: dict) -> tuple[bytes | str, str, str]:
    """(content, media type, file name) of a stored result in one export format."""
    results = stored_results(ctx, rid)
    if fmt not in EXPORT_FORMATS:
        raise NotFoundError(f"不支持的导出格式：{fmt[:20]}", f"unknown export format {fmt[:20]}")
    name = f"screening-{rid}.{fmt}"
    if fmt == "json":
        content = json.dumps(response_body(results, rid, links), ensure_ascii=False, indent=1)
    elif fmt == "geojson":
        content = json.dumps(overlap_geojson(results), ensure_ascii=False)
    elif fmt == "csv":
        content = rows_to_csv(result_rows(results), CSV_COLUMNS)
    elif fmt == "xlsx":
        content = rows_to_xlsx(result_rows(results), CSV_COLUMNS, "初筛结果")
    else:
        content = pdf.screening_pdf(results, public(results), ctx.vocab)
    return content, MIME[fmt], name
