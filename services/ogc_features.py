"""OGC API – Features (Part 1 Core, Part 2 CRS, Part 3 queryables as query parameters) over the
published layers: one collection per layer kind of the vocabulary, every district in it.

Functions return plain data (dicts for JSON, the same dicts feed the HTML templates); the web
adapter only picks the representation. Every answer comes from one layer snapshot, so a page of
items, its numberMatched and its ETag all describe the same published versions.
"""
from __future__ import annotations

import hashlib
import math
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

import numpy as np
import shapely
from pyproj import CRS, Transformer

from geo.area import METHOD_AREA
from geo.crs import GEO_EPSG, gk3_epsg, gk3_zone
from geo.errors import DataError, NotFoundError
from geo.vocabulary import LayerKind, Vocabulary
from layers.store import to_feature_collection

PREFIX = "/ogcapi"
LIMIT_DEFAULT = 100
LIMIT_MAX = 10_000
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
GEOJSON = "application/geo+json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
# query parameters every items request may carry (the queryables come on top, per collection)
ITEMS_PARAMETERS = ("f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime")
ITEM_PARAMETERS = ("f", "crs")


class InvalidParameter(DataError):
    ogc_type = "http://www.opengis.net/def/exceptions/ogcapi-features-1/1.0/invalid-parameter-value"


# ---------------------------------------------------------------------------------------------- CRS


def crs_uri(code: int) -> str:
    return f"{EPSG_URI}{code}"


def supported_crs(snap) -> list[str]:
    """CRS84 (the default), CGCS2000 geographic, WGS84 and the CGCS2000 3° Gauss-Krüger zones (with and
    without zone prefix) of every district's centre, so surveyors get X/Y in the zone they work in."""
    def build():
        bounds = shapely.bounds(snap.store.read_all("district").geometry.values)
        zones = sorted({gk3_zone((b[0] + b[2]) / 2) for b in bounds})
        return [CRS84, crs_uri(GEO_EPSG), crs_uri(4326)] + [crs_uri(c) for z in zones for c in (gk3_epsg(z), gk3_epsg(z, False))]

    return _per_snapshot(snap, "supported_crs", build)


def parse_crs_uri(text: str | None, supported: list[str], parameter: str) -> str:
    if text is None or text == "":
        return CRS84
    text = text.strip().strip("[]<>")
    if text.startswith("EPSG:") or text.startswith("epsg:"):  # the safe-CURIE short form, also accepted
        text = crs_uri(text[5:])
    if text not in supported:
        raise InvalidParameter(f"参数 {parameter} 不是本服务支持的坐标系：{text[:80]}（可选：{'、'.join(supported)}）",
                               f"{parameter} {text[:80]!r} is not supported; use one of {', '.join(supported)}",
                               {"supported": supported})
    return text


_per_thread = threading.local()


def _transformer(src: str, dst: str) -> Transformer:
    """Authority axis order on both sides (Part 2): EPSG:4490 is lat, lon; a Gauss-Krüger zone is X north, Y east."""
    cache = getattr(_per_thread, "cache", None)
    if cache is None:
        cache = _per_thread.cache = {}
    if (src, dst) not in cache:
        cache[(src, dst)] = Transformer.from_crs(CRS.from_user_input(_pyproj_name(src)), CRS.from_user_input(_pyproj_name(dst)),
                                                 always_xy=False)
    return cache[(src, dst)]


def _pyproj_name(uri: str) -> str:
    return "OGC:CRS84" if uri == CRS84 else f"EPSG:{uri.rsplit('/', 1)[1]}"


def to_crs(geoms: np.ndarray, target: str) -> np.ndarray:
    if target == CRS84:
        return geoms
    t = _transformer(CRS84, target)
    return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


# ---------------------------------------------------------------------------------------------- the index over one snapshot


@dataclass
class KindIndex:
    frame: object  # GeoDataFrame of the kind, every district
    tree: shapely.STRtree
    versions: dict  # adcode → published version (or demo:<hash>)
    etag: str
    row_of_id: dict  # feature_id → row position (the first, should an id repeat)
    text: dict  # queryable → its values as text, for equality filters
    bbox: list | None  # the extent, CRS84


_indexes: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def _per_snapshot(snap, key: str, build):
    """What a snapshot's requests derive alike, built on first use and dropped with the snapshot (a publish makes a new one)."""
    with _indexes_lock:
        cached = _indexes.setdefault(snap.store, {})
        if key in cached:
            return cached[key]
    value = build()
    with _indexes_lock:
        return cached.setdefault(key, value)


def kind_index(snap, kind: LayerKind) -> KindIndex:
    def build() -> KindIndex:
        frame = snap.store.read_all(kind.key)
        adcodes = sorted(set(snap.store.adcodes()) | set(frame["adcode"].astype(str)))
        versions = {a: snap.store.layer_version(a, kind.key) for a in adcodes}
        digest = hashlib.sha256(repr((kind.key, snap.store.info()["version"], sorted(versions.items()))).encode()).hexdigest()[:16]
        ids = frame["feature_id"].astype(str).to_numpy()
        row_of_id = {}
        for i, fid in enumerate(ids):
            row_of_id.setdefault(fid, i)
        text = {q: frame[q].astype("string").fillna("").to_numpy() for q in queryable_names(kind) if q in frame.columns and q != "is_demo"}
        bbox = [round(float(v), 7) for v in frame.total_bounds] if len(frame) else None
        return KindIndex(frame, shapely.STRtree(frame.geometry.values), versions, digest, row_of_id, text, bbox)

    return _per_snapshot(snap, f"kind:{kind.key}", build)


# ---------------------------------------------------------------------------------------------- documents


def _link(href: str, rel: str, type_: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def landing(base: str, extra_links: list[dict]) -> dict:
    api = f"{base}{PREFIX}"
    return {
        "title": "生态红线一张图 OGC API",
        "description": "生态保护红线、饮用水水源保护区、自然保护地、监测断面与行政区界的要素服务（OGC API – Features），"
                       "以及选址合规初筛等处理服务（OGC API – Processes）。/ Ecological red line, drinking-water source zones, "
                       "protected areas, monitoring sections and district boundaries as OGC API Features, with screening processes.",
        "links": [
            _link(f"{api}?f=json", "self", "application/json", "本页（JSON）/ this document"),
            _link(f"{api}?f=html", "alternate", "text/html", "本页（网页）/ this document as HTML"),
            _link(f"{api}/api", "service-desc", OPENAPI_JSON, "API 定义（OpenAPI 3.0）/ the API definition"),
            _link(f"{api}/api?f=html", "service-doc", "text/html", "API 说明（网页）/ the API documentation"),
            _link(f"{api}/conformance", "conformance", "application/json", "符合的标准类 / conformance classes"),
            _link(f"{api}/collections", "data", "application/json", "要素集合 / feature collections"),
        ] + extra_links,
    }


def conformance(extra: list[str]) -> dict:
    return {"conformsTo": CONFORMANCE + list(extra)}


def collections(snap, vocab: Vocabulary, base: str) -> dict:
    api = f"{base}{PREFIX}"
    return {
        "links": [_link(f"{api}/collections?f=json", "self", "application/json", "要素集合 / collections"),
                  _link(f"{api}/collections?f=html", "alternate", "text/html", "要素集合（网页）/ as HTML")],
        "collections": [collection(snap, vocab, base, key) for key in vocab.kinds],
        "crs": supported_crs(snap),
    }


def _kind(vocab: Vocabulary, collection_id: str) -> LayerKind:
    if collection_id not in vocab.kinds:
        raise NotFoundError(f"没有这个要素集合：{collection_id[:40]}（可选：{'、'.join(vocab.kinds)}）",
                            f"no collection {collection_id[:40]!r}; known: {', '.join(vocab.kinds)}")
    return vocab.kinds[collection_id]


def collection(snap, vocab: Vocabulary, base: str, collection_id: str) -> dict:
    kind = _kind(vocab, collection_id)
    index = kind_index(snap, kind)
    url = f"{base}{PREFIX}/collections/{kind.key}"
    frame = index.frame
    bbox = index.bbox
    demo = sorted(a for a, v in index.versions.items() if snap.store.is_demo(a, kind.key))
    official = sorted(a for a in index.versions if a not in demo)
    names = district_names(snap)
    return {
        "id": kind.key,
        "title": kind.name_zh,
        "description": f"{kind.name_zh}：所有区县的现行发布版本（{len(frame)} 个要素）。"
                       + ("其中示意数据（非官方矢量）的区县：" + "、".join(names.get(a, a) for a in demo) + "。" if demo else "全部为正式数据。")
                       + f" / {kind.key}, the published version of every district.",
        "itemType": "feature",
        "links": [
            _link(f"{url}?f=json", "self", "application/json", f"{kind.name_zh}（JSON）"),
            _link(f"{url}?f=html", "alternate", "text/html", f"{kind.name_zh}（网页）"),
            _link(f"{url}/items?f=json", "items", GEOJSON, f"{kind.name_zh} 要素（GeoJSON）"),
            _link(f"{url}/items?f=html", "items", "text/html", f"{kind.name_zh} 要素（网页）"),
            _link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json",
                  "可用于筛选的属性 / queryables"),
        ],
        "extent": {"spatial": {"bbox": [bbox] if bbox else [], "crs": CRS84}},
        "crs": supported_crs(snap),
        "storageCrs": crs_uri(GEO_EPSG),
        "geometry_type": kind.geometry,
        "area_method": None if kind.is_point else METHOD_AREA,
        "published_versions": index.versions,
        "district_names": names,
        "is_demo": bool(demo),
        "demo_districts": demo,
        "official_districts": official,
        "data_status": "示意数据" if demo and not official else "正式数据" if not demo else "部分示意数据",
        "data_version": index.etag,
    }


def district_names(snap) -> dict[str, str]:
    def build():
        districts = snap.store.read_all("district")
        return {str(a): str(n) for a, n in zip(districts["adcode"], districts["name"])} if "name" in districts.columns else {}

    return _per_snapshot(snap, "district_names", build)


def queryable_names(kind: LayerKind) -> list[str]:
    return [a.key for a in kind.common] + list(kind.attributes)


def queryables(vocab: Vocabulary, base: str, collection_id: str) -> dict:
    kind = _kind(vocab, collection_id)
    props = {}
    for key in queryable_names(kind):
        attr = kind.attribute(key)
        prop = {"title": attr.label, "type": "boolean" if key == "is_demo" else "string"}
        if attr.values:
            prop["enum"] = list(attr.values)
        props[key] = prop
    return {"$schema": "https://json-schema.org/draft/2019-09/schema", "$id": f"{base}{PREFIX}/collections/{kind.key}/queryables",
            "type": "object", "title": kind.name_zh, "properties": props}


# ---------------------------------------------------------------------------------------------- items


def _integer(args, name: str, default: int, minimum: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"参数 {name} 须为整数，收到：{raw[:40]}", f"{name} must be an integer, got {raw[:40]!r}") from None
    if value < minimum:
        raise InvalidParameter(f"参数 {name} 不能小于 {minimum}，收到：{value}", f"{name} must be at least {minimum}, got {value}")
    return value


def parse_bbox(raw: str | None, bbox_crs: str) -> list[tuple[float, float, float, float]] | None:
    """The bbox as CRS84 boxes (two when it crosses the antimeridian). Four or six numbers in the
    axis order of bbox-crs (Part 2); the six-number form's heights are ignored (the layers are 2D)."""
    if raw is None:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidParameter(f"参数 bbox 须为逗号分隔的 4 个（或 6 个）数，收到：{raw[:80]}",
                               f"bbox must be 4 (or 6) comma-separated numbers, got {raw[:80]!r}") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidParameter(f"参数 bbox 须为 4 个（或 6 个）有限数，收到 {len(values)} 个：{raw[:80]}",
                               f"bbox must be 4 (or 6) finite numbers, got {len(values)}: {raw[:80]!r}")
    if bbox_crs != CRS84:
        t = _transformer(bbox_crs, CRS84)
        a0, a1, b0, b1 = values
        if a0 > b0 or a1 > b1:
            raise InvalidParameter("参数 bbox 的下限大于上限", "bbox lower corner is above its upper corner")
        values = list(t.transform_bounds(a0, a1, b0, b1, densify_pts=21))
    minx, miny, maxx, maxy = values
    if not (-90 <= miny <= maxy <= 90):
        raise InvalidParameter(f"参数 bbox 的纬度须在 −90–90 之间且下限不大于上限，收到：{raw[:80]}",
                               f"bbox latitudes must be within −90..90 with lower ≤ upper, got {raw[:80]!r}")
    if minx > maxx:  # crosses the antimeridian (OGC API – Features 1, bbox)
        return [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]
    return [(minx, miny, maxx, maxy)]


def _check_datetime(raw: str | None) -> None:
    """The layers carry no time: a well-formed datetime is accepted and selects every feature."""
    if raw is None:
        return
    for part in raw.split("/"):
        if part in ("", ".."):
            continue
        try:
            datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidParameter(f"参数 datetime 须为 RFC 3339 时间或时间区间，收到：{raw[:60]}",
                                   f"datetime must be an RFC 3339 instant or interval, got {raw[:60]!r}") from None


def _check_known(args, allowed) -> None:
    unknown = sorted(k for k in args if k not in allowed)
    if unknown:
        raise InvalidParameter(f"未知的查询参数：{'、'.join(u[:40] for u in unknown)}（可用：{'、'.join(allowed)}）",
                               f"unknown query parameter(s): {', '.join(u[:40] for u in unknown)}",
                               {"unknown_parameters": unknown, "allowed": list(allowed)})


def _matching(index: KindIndex, kind: LayerKind, args, boxes) -> np.ndarray:
    """Row positions of the features selected by bbox and property filters, in layer order."""
    frame = index.frame
    keep = np.ones(len(frame), dtype=bool)
    if boxes is not None:
        hit = np.zeros(len(frame), dtype=bool)
        for box in boxes:
            hit[index.tree.query(shapely.box(*box), predicate="intersects")] = True
        keep &= hit
    for key in queryable_names(kind):
        if key not in args:
            continue
        wanted = args[key]
        if key not in frame.columns:
            keep &= False
        elif key == "is_demo":
            if wanted not in ("true", "false", "1", "0"):
                raise InvalidParameter(f"参数 is_demo 只能是 true 或 false，收到：{wanted[:20]}", f"is_demo must be true or false, got {wanted[:20]!r}")
            keep &= frame[key].fillna(0).astype(bool).to_numpy() == (wanted in ("true", "1"))
        else:
            keep &= index.text[key] == wanted
    return np.flatnonzero(keep)


def _page_links(url: str, args, offset: int, limit: int, returned: int, matched: int) -> list[dict]:
    def href(f: str, new_offset: int | None = None) -> str:
        params = [(k, v) for k, v in args.items() if k not in ("f", "offset")]
        params.append(("f", f))
        if new_offset is not None and new_offset > 0:
            params.append(("offset", str(new_offset)))
        elif new_offset is None and offset:
            params.append(("offset", str(offset)))
        return f"{url}?{urlencode(params)}"

    links = [_link(href("json"), "self", GEOJSON, "本页（GeoJSON）/ this page"),
             _link(href("html"), "alternate", "text/html", "本页（网页）/ this page as HTML")]
    if offset + returned < matched:
        links.append(_link(href("json", offset + limit), "next", GEOJSON, "下一页 / next page"))
    if offset > 0:
        links.append(_link(href("json", max(0, offset - limit)), "prev", GEOJSON, "上一页 / previous page"))
    return links


def _features(index: KindIndex, kind: LayerKind, rows: np.ndarray, target_crs: str) -> list[dict]:
    part = index.frame.iloc[rows]
    if target_crs != CRS84 and len(part):
        part = part.set_geometry(to_crs(part.geometry.values, target_crs), crs=None)
    features = to_feature_collection(part, kind)["features"]
    for f in features:
        f["properties"]["layer_version"] = index.versions.get(f["properties"]["adcode"])
    return features


def items(snap, vocab: Vocabulary, base: str, collection_id: str, args) -> tuple[dict, dict]:
    """One page of a collection's features and the response headers (Content-Crs, ETag)."""
    kind = _kind(vocab, collection_id)
    _check_known(args, ITEMS_PARAMETERS + tuple(queryable_names(kind)))
    supported = supported_crs(snap)
    target = parse_crs_uri(args.get("crs"), supported, "crs")
    boxes = parse_bbox(args.get("bbox"), parse_crs_uri(args.get("bbox-crs"), supported, "bbox-crs"))
    if "bbox-crs" in args and "bbox" not in args:
        raise InvalidParameter("给了 bbox-crs 却没有 bbox", "bbox-crs given without bbox")
    _check_datetime(args.get("datetime"))
    limit = min(_integer(args, "limit", LIMIT_DEFAULT, 1), LIMIT_MAX)
    offset = _integer(args, "offset", 0, 0)
    index = kind_index(snap, kind)
    rows = _matching(index, kind, args, boxes)
    page = rows[offset:offset + limit]
    features = _features(index, kind, page, target)
    url = f"{base}{PREFIX}/collections/{kind.key}/items"
    body = {
        "type": "FeatureCollection",
        "name": kind.name_zh,
        "features": features,
        "area_method": METHOD_AREA,  # how area_m2 / area_km2 / area_ha of the polygons were measured
        "numberMatched": int(len(rows)),
        "numberReturned": len(features),
        "timeStamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": _page_links(url, args, offset, limit, len(features), len(rows)),
    }
    return body, _headers(index, target, args)


def item(snap, vocab: Vocabulary, base: str, collection_id: str, feature_id: str, args) -> tuple[dict, dict]:
    kind = _kind(vocab, collection_id)
    _check_known(args, ITEM_PARAMETERS)
    target = parse_crs_uri(args.get("crs"), supported_crs(snap), "crs")
    index = kind_index(snap, kind)
    row = index.row_of_id.get(feature_id)
    if row is None:
        raise NotFoundError(f"{kind.name_zh}中没有要素 {feature_id[:60]}（或已随新版本发布而不存在）",
                            f"no feature {feature_id[:60]!r} in collection {kind.key}")
    feature = _features(index, kind, np.array([row]), target)[0]
    url = f"{base}{PREFIX}/collections/{kind.key}"
    if not kind.is_point:
        feature["area_method"] = METHOD_AREA
    here = f"{url}/items/{quote(feature_id, safe='')}"
    feature["links"] = [_link(f"{here}?f=json", "self", GEOJSON, "本要素（GeoJSON）/ this feature"),
                        _link(f"{here}?f=html", "alternate", "text/html", "本要素（网页）/ as HTML"),
                        _link(f"{url}?f=json", "collection", "application/json", kind.name_zh)]
    return feature, _headers(index, target, args)


def _headers(index: KindIndex, target: str, args) -> dict:
    query = "&".join(f"{k}={v}" for k, v in sorted(args.items()))
    return {"Content-Crs": f"<{target}>", "ETag": hashlib.sha256(f"{index.etag}?{query}".encode()).hexdigest()[:24]}


def collection_etag(snap, vocab: Vocabulary, collection_id: str | None) -> str:
    """Changes with any published version the document shows."""
    keys = [collection_id] if collection_id else list(vocab.kinds)
    return hashlib.sha256("".join(kind_index(snap, _kind(vocab, k)).etag for k in keys).encode()).hexdigest()[:24]


def map_copy(snap, kind: LayerKind, shown: list[dict]) -> dict:
    """The shown features in lon/lat, simplified for display, whatever crs the page was asked in."""
    index = kind_index(snap, kind)
    rows = sorted({index.row_of_id[str(f["id"])] for f in shown if str(f["id"]) in index.row_of_id})
    return to_feature_collection(index.frame.iloc[rows], kind, display=True)


def feature_table(features: list[dict], kind: LayerKind) -> dict:
    """Columns and rows an HTML page lists (labels in reviewers' words, in the popup's order)."""
    keys = ["feature_id"] + [k for k in kind.popup if k != "feature_id"] + ["adcode", "area_km2", "layer_version"]
    labels = {k: kind.attribute(k).label for k in keys if k in queryable_names(kind)}
    labels.update({"area_km2": "面积（km²，椭球）", "layer_version": "版本"})
    columns = [(k, labels.get(k, k)) for k in dict.fromkeys(keys) if kind.is_point is False or k != "area_km2"]
    return {"columns": columns, "rows": [{k: f["properties"].get(k) for k, _ in columns} | {"id": f["id"]} for f in features]}

