"""OGC API – Features routes under /ogcapi (landing page, conformance, API definition, collections,
items): each calls one function of services/ogc_features.py; this module only picks JSON or HTML
(`f=json|html`, else the Accept header) and sets the standard headers."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, render_template, request

from geo.errors import DataError
from services import ogc_features as features
from services import ogc_processes as processes
from services.ogc_openapi import ogc_openapi

bp = Blueprint("ogcapi", __name__, url_prefix=features.PREFIX)
FORMATS = {"json": "json", "geojson": "json", "html": "html"}


def ctx():
    return current_app.extensions["services"]


def base() -> str:
    return request.host_url.rstrip("/")


def wanted() -> str:
    f = request.args.get("f")
    if f is not None:
        if f not in FORMATS:
            raise DataError(f"参数 f 只能是 json 或 html，收到：{f[:20]}", f"f must be json or html, got {f[:20]!r}")
        return FORMATS[f]
    best = request.accept_mimetypes.best_match(["application/json", "application/geo+json", "text/html"])
    return "html" if best == "text/html" else "json"


def answer(data: dict, template: str, mimetype: str = "application/json", headers: dict | None = None, **page):
    headers = dict(headers or {})
    etag = headers.pop("ETag", None)
    if wanted() == "html":
        resp = current_app.response_class(render_template(template, data=data, **page), mimetype="text/html")
    else:
        resp = current_app.response_class(json.dumps(data, ensure_ascii=False, separators=(",", ":")), mimetype=mimetype)
    resp.headers.update(headers)
    if etag:
        resp.headers["Cache-Control"] = "no-cache"  # revalidated on every use: a publish changes what the URL holds
        resp.set_etag(f"{etag}-{wanted()}")
        return resp.make_conditional(request)
    return resp


def snapshot():
    return ctx().live.get()


@bp.get("")
@bp.get("/")
def landing():
    return answer(features.landing(base(), processes.landing_links(request.url_root)), "ogc_landing.html")


@bp.get("/conformance")
def conformance():
    return answer(features.conformance(processes.CONFORMANCE), "ogc_conformance.html")


@bp.get("/api")
def api():
    doc = ogc_openapi(snapshot(), ctx().vocab, base())
    return answer(doc, "ogc_api.html", mimetype=features.OPENAPI_JSON)


@bp.get("/collections")
def collections():
    snap = snapshot()
    return answer(features.collections(snap, ctx().vocab, base()), "ogc_collections.html",
                  headers={"ETag": features.collection_etag(snap, ctx().vocab, None)})


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    snap = snapshot()
    return answer(features.collection(snap, ctx().vocab, base(), collection_id), "ogc_collection.html",
                  headers={"ETag": features.collection_etag(snap, ctx().vocab, collection_id)})


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    return answer(features.queryables(ctx().vocab, base(), collection_id), "ogc_queryables.html", mimetype="application/schema+json")


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    snap = snapshot()
    body, headers = features.items(snap, ctx().vocab, base(), collection_id, request.args.to_dict())
    return answer(body, "ogc_items.html", mimetype=features.GEOJSON, headers=headers, **html_page(snap, collection_id, body))


@bp.get("/collections/<collection_id>/items/<path:feature_id>")
def item(collection_id: str, feature_id: str):
    snap = snapshot()
    body, headers = features.item(snap, ctx().vocab, base(), collection_id, feature_id, request.args.to_dict())
    return answer(body, "ogc_item.html", mimetype=features.GEOJSON, headers=headers, **html_page(snap, collection_id, body))


def html_page(snap, collection_id: str, body: dict) -> dict:
    """What the HTML page adds to the document: the collection's metadata and a table in reviewers' words."""
    if wanted() != "html":
        return {}
    kind = ctx().vocab.kinds[collection_id]
    shown = body["features"] if "features" in body else [body]
    return {"collection": features.collection(snap, ctx().vocab, base(), collection_id),
            "table": features.feature_table(shown, kind), "map_data": features.map_copy(snap, kind, shown)}
