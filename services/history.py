"""我的初筛: a signed-in user's own screenings (project information, conclusion, date, data versions, links to every
output), searchable, and the re-run of an old check against the data in force now, with what changed."""
from __future__ import annotations

import datetime as dt
import json

import shapely.geometry

from geo.errors import AuthRequiredError, DataError, NotFoundError
from services import screening

PAGE_ROWS = 30
MAX_SEARCH = 100  # characters of a search text


def _owner(actor) -> str:
    if not actor.username:
        raise AuthRequiredError("请先登录后查看“我的初筛”", "sign in to see your screenings")
    return actor.username


def history(ctx, actor, search: str | None = None, page=None) -> dict:
    """One page of actor's screenings, newest first: {"rows", "total", "page", "pages", "search"}."""
    owner = _owner(actor)
    search = (search or "").strip()[:MAX_SEARCH]
    try:
        number = max(int(str(page or 1)[:6]), 1)
    except ValueError:
        number = 1
    rows, total = ctx.results.history(owner, search, PAGE_ROWS, (number - 1) * PAGE_ROWS)
    pages = max(1, -(-total // PAGE_ROWS))
    for row in rows:
        row["date"] = dt.datetime.fromtimestamp(row["created_at"], dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
        name = row["project"].get("name")
        if name and row["summary"].startswith(f"{name}："):  # the audit's summary names the project first; the list shows it apart
            row["summary"] = row["summary"][len(name) + 1:]
        row["demo"] = any(str(v).startswith("demo:") for v in row["layer_versions"].values())
        row["published"] = sorted({f"{k}={v}" for k, v in row["layer_versions"].items() if not str(v).startswith("demo:")})
    return {"rows": rows, "total": total, "page": min(number, pages), "pages": pages, "search": search}


def differences(old: list[dict], new: list[dict], vocab) -> list[dict]:
    """Per site, what the re-run says differently: conclusion, zones entered or left, overlap per layer (m², dissolved),
    layer versions. An empty "changes" list: the same answer."""
    out = []
    for n, (a, b) in enumerate(zip(old, new), 1):
        changes = []
        if a["verdict"]["level"] != b["verdict"]["level"]:
            changes.append(f"结论由“{a['verdict']['level']}”变为“{b['verdict']['level']}”")
        before, after = ({(k, i): n for k, i, n in screening.involved(r)} for r in (a, b))
        kinds = {k: vocab.kinds[k].name_zh for k, _ in {*before, *after} if k in vocab.kinds}
        for key in sorted(after.keys() - before.keys()):
            changes.append(f"新涉及{kinds.get(key[0], key[0])}：{after[key]}")
        for key in sorted(before.keys() - after.keys()):
            changes.append(f"不再涉及{kinds.get(key[0], key[0])}：{before[key]}")
        totals_a = {layer["kind"]: layer.get("total_overlap_m2") or 0.0 for layer in a["layers"]}
        for layer in b["layers"]:
            was, now = totals_a.get(layer["kind"], 0.0), layer.get("total_overlap_m2") or 0.0
            if abs(now - was) >= 0.01:
                changes.append(f"{layer['name_zh']}重叠面积由 {was:.2f} m² 变为 {now:.2f} m²（{now - was:+.2f} m²）")
        va, vb = a["method"]["data"]["layer_versions"], b["method"]["data"]["layer_versions"]
        versions = [f"{k}：{va.get(k, '—')} → {vb.get(k, '—')}" for k in sorted({*va, *vb}) if va.get(k) != vb.get(k)]
        out.append({"index": n, "name": b["site"].get("name") or f"项目{n}", "changes": changes, "versions": versions})
    return out


def can_rerun(ctx, actor, rid: str) -> bool:
    """Whether the result page offers actor the re-run: a signed-in owner, or an administrator."""
    if not actor.username:
        return False
    found = ctx.results.entry(rid)
    return found is not None and (actor.is_admin or found[1] == actor.username)


def rerun(ctx, actor, rid: str) -> screening.ScreeningRun:
    """Screen the sites of an earlier result of actor's (or any, for an administrator) again against the data in force,
    with the same options and project information; the new result names the old one and what differs."""
    _owner(actor)
    found = ctx.results.entry(rid)
    if found is None or not (actor.is_admin or found[1] == actor.username):
        raise NotFoundError("初筛结果不存在或已过期（或不是您的初筛）", f"screening result {rid[:40]} not found or not yours")
    old = found[0]
    if any("_site_geometry" not in r for r in old):
        raise DataError("该结果没有保存项目范围，无法重新初筛", "the result has no stored site geometry")
    features = [{"type": "Feature", "properties": {"name": r["site"].get("name")} if r["site"].get("name") else {},
                 "geometry": shapely.geometry.mapping(r["_site_geometry"])} for r in old]
    request = old[0].get("_request", {})
    bands = old[0]["method"]["distance_bands_m"]
    compare = {"result_id": rid, "checked_at": old[0]["method"]["checked_at"]}
    geometry = {"type": "FeatureCollection", "features": features}
    return screening.screen(ctx, actor, geometry=geometry, crs="EPSG:4490", raw=json.dumps(geometry).encode(),
                            district=request.get("district"), bands=list(bands), corridor_width_m=request.get("corridor_width_m"),
                            project=old[0].get("project") or None, rerun_of=rid,
                            compare=lambda new: {**compare, "differences": differences(old, new, ctx.vocab)})
