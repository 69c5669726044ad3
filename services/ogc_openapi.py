"""The OpenAPI 3.0 definition of /ogcapi (the landing page's service-desc), built from the
vocabulary: one items path per collection with that kind's queryables as parameters, so a kind
added to the vocabulary is described without editing anything. The Processes paths come from
services/ogc_processes.py."""
from __future__ import annotations

from services import ogc_features as features
from services import ogc_processes as processes

JSON = {"application/json": {"schema": {"type": "object"}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _ok(description: str, media: str, schema_ref: str | None = None) -> dict:
    schema = {"$ref": f"#/components/schemas/{schema_ref}"} if schema_ref else {"type": "object"}
    return {"description": description, "content": {media: {"schema": schema}, "text/html": {"schema": {"type": "string"}}}}


ERRORS = {"400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}


def ogc_openapi(snap, vocab, base: str) -> dict:
    prefix = features.PREFIX
    paths = {
        f"{prefix}": {"get": {"summary": "入口页 / landing page", "operationId": "getLandingPage", "parameters": [_ref("f")],
                              "responses": {"200": _ok("入口页 / landing page", "application/json", "LandingPage")}}},
        f"{prefix}/conformance": {"get": {"summary": "符合的标准类 / conformance classes", "operationId": "getConformance",
                                          "parameters": [_ref("f")],
                                          "responses": {"200": _ok("标准类 / conformance", "application/json", "Conformance")}}},
        f"{prefix}/api": {"get": {"summary": "本 API 定义（OpenAPI 3.0）/ this API definition", "operationId": "getApi",
                                  "parameters": [_ref("f")],
                                  "responses": {"200": _ok("API 定义 / definition", features.OPENAPI_JSON)}}},
        f"{prefix}/collections": {"get": {"summary": "要素集合 / feature collections", "operationId": "getCollections",
                                          "parameters": [_ref("f")],
                                          "responses": {"200": _ok("集合列表 / collections", "application/json", "Collections")}}},
    }
    for key, kind in vocab.kinds.items():
        base_path = f"{prefix}/collections/{key}"
        filters = [{"name": q, "in": "query", "required": False, "style": "form", "explode": False,
                    "description": f"按 {kind.attribute(q).label} 筛选（等于）/ filter by {q}",
                    "schema": {"type": "string", **({"enum": list(kind.attribute(q).values)} if kind.attribute(q).values else {})}}
                   for q in features.queryable_names(kind)]
        paths[base_path] = {"get": {"summary": f"{kind.name_zh}：集合信息 / collection metadata", "operationId": f"describe_{key}",
                                    "tags": [key], "parameters": [_ref("f")],
                                    "responses": {"200": _ok("集合 / collection", "application/json", "Collection"), **ERRORS}}}
        paths[f"{base_path}/queryables"] = {"get": {"summary": f"{kind.name_zh}：可筛选属性 / queryables", "operationId": f"queryables_{key}",
                                                    "tags": [key], "parameters": [_ref("f")],
                                                    "responses": {"200": _ok("JSON Schema", "application/schema+json"), **ERRORS}}}
        paths[f"{base_path}/items"] = {"get": {
            "summary": f"{kind.name_zh}：要素 / features", "operationId": f"getFeatures_{key}", "tags": [key],
            "parameters": [_ref(p) for p in ("f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime")] + filters,
            "responses": {"200": {**_ok("要素（GeoJSON）/ features", features.GEOJSON, "FeatureCollection"),
                                  "headers": {"Content-Crs": {"$ref": "#/components/headers/Content-Crs"}}},
                          "304": {"description": "未改变 / not modified"}, **ERRORS}}}
        paths[f"{base_path}/items/{{featureId}}"] = {"get": {
            "summary": f"{kind.name_zh}：单个要素 / one feature", "operationId": f"getFeature_{key}", "tags": [key],
            "parameters": [_ref("featureId"), _ref("f"), _ref("crs")],
            "responses": {"200": {**_ok("要素（GeoJSON）/ feature", features.GEOJSON, "Feature"),
                                  "headers": {"Content-Crs": {"$ref": "#/components/headers/Content-Crs"}}},
                          "304": {"description": "未改变 / not modified"}, **ERRORS}}}
    paths.update(processes.openapi_paths())
    supported = features.supported_crs(snap)
    components = {
        "parameters": {
            "f": {"name": "f", "in": "query", "required": False, "description": "返回格式 / representation",
                  "schema": {"type": "string", "enum": ["json", "html"]}},
            "limit": {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
                      "description": f"每页要素数，默认 {features.LIMIT_DEFAULT}，超过 {features.LIMIT_MAX} 按 {features.LIMIT_MAX} / page size",
                      "schema": {"type": "integer", "minimum": 1, "maximum": features.LIMIT_MAX, "default": features.LIMIT_DEFAULT}},
            "offset": {"name": "offset", "in": "query", "required": False, "description": "跳过的要素数（分页）/ features skipped",
                       "schema": {"type": "integer", "minimum": 0, "default": 0}},
            "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
                     "description": "范围：最小经度,最小纬度,最大经度,最大纬度（CRS84；其他坐标系用 bbox-crs，按其坐标轴顺序）/ bounding box",
                     "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
            "bbox-crs": {"name": "bbox-crs", "in": "query", "required": False, "description": "bbox 的坐标系 / CRS of bbox",
                         "schema": {"type": "string", "format": "uri", "enum": supported, "default": features.CRS84}},
            "crs": {"name": "crs", "in": "query", "required": False, "description": "返回坐标的坐标系 / CRS of the response",
                    "schema": {"type": "string", "format": "uri", "enum": supported, "default": features.CRS84}},
            "datetime": {"name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
                         "description": "图层不含时间属性：合法的时间或区间选出全部要素 / the layers carry no time",
                         "schema": {"type": "string"}},
            "featureId": {"name": "featureId", "in": "path", "required": True, "description": "要素编号 feature_id",
                          "schema": {"type": "string"}},
        },
        "headers": {"Content-Crs": {"description": "返回坐标的坐标系 / CRS of the coordinates", "schema": {"type": "string"}}},
        "responses": {"Error": {"description": "错误（OGC 异常文档）/ error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/OgcException"}}}}},
        "schemas": {
            "Link": {"type": "object", "required": ["href"], "properties": {
                "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}},
            "LandingPage": {"type": "object", "required": ["links"], "properties": {
                "title": {"type": "string"}, "description": {"type": "string"},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
            "Conformance": {"type": "object", "required": ["conformsTo"], "properties": {
                "conformsTo": {"type": "array", "items": {"type": "string"}}}},
            "Collection": {"type": "object", "required": ["id", "links"], "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                "extent": {"type": "object"}, "itemType": {"type": "string"},
                "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"},
                "geometry_type": {"type": "string", "description": "polygon | point"},
                "area_method": {"type": "string", "nullable": True, "description": "要素面积（area_m2、area_km2、area_ha）的算法：椭球面积 / area method"},
                "published_versions": {"type": "object", "additionalProperties": {"type": "string"},
                                       "description": "区县 → 现行版本（demo:<哈希> 为示意数据）/ adcode → published version"},
                "district_names": {"type": "object", "additionalProperties": {"type": "string"}, "description": "区县 → 名称 / adcode → name"},
                "is_demo": {"type": "boolean", "description": "有区县仍为示意数据 / some district is demo data"},
                "demo_districts": {"type": "array", "items": {"type": "string"}},
                "official_districts": {"type": "array", "items": {"type": "string"}},
                "data_status": {"type": "string", "description": "示意数据 | 正式数据 | 部分示意数据"},
                "data_version": {"type": "string", "description": "随任一发布改变 / changes with every publish"}}},
            "Collections": {"type": "object", "required": ["links", "collections"], "properties": {
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                "collections": {"type": "array", "items": {"$ref": "#/components/schemas/Collection"}},
                "crs": {"type": "array", "items": {"type": "string"}}}},
            "Feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"},
                "geometry": {"type": "object"}, "properties": {"type": "object"},
                "area_method": {"type": "string", "description": "面积的算法（面要素）/ area method"},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
            "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]}, "name": {"type": "string"},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
                "area_method": {"type": "string", "description": "面积的算法 / area method"},
                "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0},
                "timeStamp": {"type": "string", "format": "date-time"},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
            "OgcException": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                "error": {"type": "string"}, "error_en": {"type": "string"}, "details": {"type": "object"}}},
        },
    }
    extra = processes.openapi_components()
    for section, entries in extra.items():
        components.setdefault(section, {}).update(entries)
    return {
        "openapi": "3.0.3",
        "info": {"title": "生态红线一张图 OGC API", "version": "1.0",
                 "description": "OGC API – Features（Part 1 Core、Part 2 CRS、Part 3 queryables）与 OGC API – Processes。"
                                "坐标默认 CRS84（经度, 纬度）；其他坐标系按其坐标轴顺序（EPSG:4490 为 纬度, 经度；高斯-克吕格为 X 北, Y 东）。"},
        "servers": [{"url": base}],
        "paths": paths,
        "components": components,
    }
