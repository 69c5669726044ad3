"""Official layers (正式图层): stage an upload, review its validation report, publish it as a new
version, move to any kept version (back or forward), list the history. Staging, publishing and
switching versions are audited here and nowhere else.

The validation report compares the upload with the plan (share and area against the figures the
plan states for the kind, judged as the shares page judges them) and with the version it would
replace (area, feature count, bounding box). A change beyond the threshold — the dissolved area
moving by more than PUBLISH_AREA_CHANGE_PCT, or a share against the plan turning 不符合 — is
published only with an explicit confirmation naming it (the report's confirm_code).

A kind with an admission list (环境管控单元) may be staged with its 准入清单 Excel sheet: read (and
refused if it is not one) before anything is staged, kept with the upload, matched to the units
by code at review and written into their dimension attributes when publishing. Zoning kinds are
checked for gaps and overlaps (TILING_TOLERANCE_M2, TILING_MAX_UNCOVERED_PCT).
"""
from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import shapely

from geo import vocabulary
from geo.area import M2_PER_KM2, area_m2
from geo.errors import ConflictError, DataError, NotFoundError
from geo.geometry import intersection_by_parts, union_by_component
from geo.shares import STATUS_FAIL, plan_check
from layers import layer_import
from layers.versions import DEMO, check_replaces


def _thematic_kind(ctx, kind: str):
    found = ctx.vocab.kind(kind)
    if found.key == "district":
        raise DataError("行政区界不能在此导入", "the district boundary is not imported here")
    return found


def version_label(version: str) -> str:
    """How a page names a version: v0003 as it is, the shipped layer (demo or demo:<hash>) as 示意数据."""
    return vocabulary.status("data", "demo") if version.split(":")[0] == DEMO else version


def _ordinal(version: str) -> int:
    """demo → 0, v0003 → 3: the order versions were published in."""
    return 0 if version.split(":")[0] == DEMO else int(version[1:])


def stage(ctx, actor, filename: str, data: bytes, adcode: str, kind: str, crs: str | None,
          admission: tuple[str, bytes] | None = None):
    """Read and keep an upload for review (in memory): no layer is written before publishing. Audited (one row).

    admission: (file name, bytes) of the 准入清单 Excel sheet for a kind with an admission list; it is read first, and
    a file that is not such a sheet refuses the whole upload (nothing staged, nothing audited)."""
    snap = ctx.live.get()
    snap.districts.check(adcode)
    found = _thematic_kind(ctx, kind)
    listed = None
    if admission is not None:
        if not found.admission_list:
            raise DataError(f"“{found.name_zh}”没有准入清单，不能附带准入清单 Excel（仅 "
                            f"{'、'.join(k.name_zh for k in ctx.vocab.thematic if k.admission_list) or '—'} 有）",
                            f"the kind {found.key} has no admission list; do not attach one")
        listed = layer_import.read_admission_list(admission[0], admission[1], found, ctx.publish_limits)
    staged = layer_import.stage(filename, data, adcode, found, crs or None, ctx.publish_limits, actor.username,
                                snap.districts.district_centre_lon(adcode), admission=listed)
    ctx.staging.put(staged, {"filename": filename, "adcode": adcode, "kind": found.key, "crs": crs or None, "user": actor.username,
                             "admission": listed.to_json() if listed else None}, data)
    with_list = (f"，准入清单 {listed.source_name}（{len(listed.rows)} 行，SHA-256 {listed.input_sha256[:12]}）" if listed else "")
    ctx.record(actor, "stage", f"暂存待发布 {adcode} {found.name_zh}：{filename}（{len(staged.sites)} 个要素{with_list}，尚未发布）",
               {f"{adcode}/{found.key}": snap.store.layer_version(adcode, found.key)}, data)
    return staged


def staged(ctx, token: str):
    found = ctx.staging.get(token)
    if found is None:
        raise NotFoundError("待发布的导入不存在或已过期（1 小时），请重新上传", "staged import not found or expired")
    return found


_FOOTPRINTS: dict[tuple, dict] = {}  # (store version, district, kind, boundary) → the version in use's footprint: measured once
_FOOTPRINTS_LOCK = threading.Lock()


def _current_footprint(store, adcode: str, kind: str, district_geom) -> dict:
    key = (store.version, adcode, kind, hashlib.sha256(shapely.to_wkb(district_geom)).hexdigest())  # store.version names every version in use
    with _FOOTPRINTS_LOCK:
        found = _FOOTPRINTS.get(key)
    if found is None:
        current = store.read(kind, adcode)
        found = _footprint(current.geometry.values if len(current) else [], district_geom)
        with _FOOTPRINTS_LOCK:
            while len(_FOOTPRINTS) >= 32:
                _FOOTPRINTS.pop(next(iter(_FOOTPRINTS)))
            _FOOTPRINTS[key] = found
    return found


def _footprint(geoms, district_geom) -> dict:
    """Dissolved area (total and inside the district), feature count and bounding box of a layer's geometries."""
    union = union_by_component(np.asarray(list(geoms), dtype=object)) if len(geoms) else shapely.Polygon()
    inside = area_m2(intersection_by_parts(union, district_geom)) if not union.is_empty else 0.0
    return {"feature_count": len(geoms), "dissolved_m2": area_m2(union), "inside_district_m2": inside,
            "bbox": [round(v, 6) for v in union.bounds] if not union.is_empty else None}


def _bbox_overlap_pct(a, b) -> float | None:
    """Ellipsoidal area of the two bounding boxes' intersection ÷ their union, in %."""
    if not a or not b:
        return None
    ba, bb = shapely.box(*a), shapely.box(*b)
    union = area_m2(shapely.union(ba, bb))
    return round(area_m2(shapely.intersection(ba, bb)) / union * 100, 2) if union else None


def _comparison(ctx, item, new: dict, district_geom) -> dict:
    """The upload against the plan and against the version it replaces, and the changes that need a confirmation."""
    snap = ctx.live.get()
    cfg = ctx.config
    kind, adcode = item.kind.key, item.adcode
    plan = snap.districts.plans[adcode]
    old_version = snap.store.layer_version(adcode, kind)
    old = _current_footprint(snap.store, adcode, kind, district_geom)
    district_m2 = area_m2(district_geom)
    checks = {}
    for side, fp in (("new", new), ("previous", old)):
        checks[side] = plan_check(plan, kind, fp["inside_district_m2"], district_m2, cfg["SHARE_TOLERANCE_PP"], cfg["AREA_TOLERANCE_PCT"])
    threshold = cfg["PUBLISH_AREA_CHANGE_PCT"]
    change_pct = (new["dissolved_m2"] - old["dissolved_m2"]) / old["dissolved_m2"] * 100 if old["dissolved_m2"] else None
    previous = {
        "version": old_version, "version_label": version_label(old_version), "feature_count": old["feature_count"],
        "dissolved_km2": round(old["dissolved_m2"] / M2_PER_KM2, 4), "inside_district_km2": round(old["inside_district_m2"] / M2_PER_KM2, 4),
        "bbox": old["bbox"], "area_change_pct": None if change_pct is None else round(change_pct, 2),
        "feature_count_change": new["feature_count"] - old["feature_count"], "bbox_overlap_pct": _bbox_overlap_pct(new["bbox"], old["bbox"]),
        "area_change_threshold_pct": threshold,
    }
    changes = []
    if change_pct is not None and abs(change_pct) > threshold:
        changes.append({"key": "area", "text_zh": (
            f"融合面积由 {old['dissolved_m2'] / M2_PER_KM2:.4f} km²（{previous['version_label']}）变为 {new['dissolved_m2'] / M2_PER_KM2:.4f} km²"
            f"（{change_pct:+.1f}%，超过 ±{threshold:g}%）"),
            "text_en": f"dissolved area {old['dissolved_m2'] / M2_PER_KM2:.4f} → {new['dissolved_m2'] / M2_PER_KM2:.4f} km² ({change_pct:+.1f} %)"})
    if checks["new"] and checks["new"]["share_status"] == STATUS_FAIL and (checks["previous"] or {}).get("share_status") != STATUS_FAIL:
        n, p = checks["new"], checks["previous"] or {}
        changes.append({"key": "plan_share", "text_zh": (
            f"占区县面积比例与规划 {n['plan_figure']}% 的核对由“{p.get('share_status', '—')}”（{previous['version_label']} "
            f"{(p.get('computed_pct') or 0):.3f}%）变为“{n['share_status']}”（新图层 {n['computed_pct']:.3f}%）"),
            "text_en": f"share against the plan's {n['plan_figure']} % turns inconsistent ({n['computed_pct']:.3f} %)"})
    code = hashlib.sha256(json.dumps([c["text_zh"] for c in changes], ensure_ascii=False).encode()).hexdigest()[:12] if changes else None
    return {"plan": checks["new"], "plan_previous": checks["previous"], "previous": previous, "bbox": new["bbox"],
            "changes": changes, "needs_confirmation": bool(changes), "confirm_code": code}


def review(ctx, token: str, chosen: dict | None = None) -> tuple[object, dict, dict]:
    """(staged import, field mapping, validation report); chosen overrides the automatic mapping.

    The report (layers.layer_import.report) gains: plan / plan_previous (geo.shares.plan_check of the upload and of the
    current version, None for a kind the plan states nothing for), previous (the current version's area, count and
    bounding box, and the change), bbox, changes (each {"key", "text_zh", "text_en"}), needs_confirmation, confirm_code;
    for a zoning kind its tiling check and for an upload with a 准入清单 the codes matched (see layer_import.report)."""
    item = staged(ctx, token)
    mapping = layer_import.auto_mapping(item)
    mapping.update({k: v for k, v in (chosen or {}).items() if k in {a.key for a in item.kind.importable}})
    district_geom = ctx.live.get().districts.store.read("district", item.adcode).geometry.union_all()
    cfg = ctx.config
    rep = layer_import.report(item, mapping, district_geom, cfg["TILING_TOLERANCE_M2"], cfg["TILING_MAX_UNCOVERED_PCT"],
                              ctx.vocab.requirement_levels)
    union = layer_import.staged_union(item)
    dissolved, _, inside = layer_import.staged_areas(item, district_geom)
    new = {"feature_count": len(item.sites), "dissolved_m2": dissolved, "inside_district_m2": inside,
           "bbox": [round(v, 6) for v in union.bounds] if not union.is_empty else None}
    rep.update(_comparison(ctx, item, new, district_geom))
    return item, mapping, rep


def _names(ctx, adcode: str, kind) -> str:
    return f"{ctx.live.get().districts.plans[adcode]['name']} {kind.name_zh}"


def publish(ctx, actor, token: str, chosen: dict | None = None, confirm: str | None = None, reviewed: str | None = None) -> dict:
    """Publish a reviewed import as the new current version; refused whole if validation fails, and refused
    (ConflictError) when the report names changes that ``confirm`` (the report's confirm_code) does not confirm, or
    when the layer is no longer at the version the report compared with (``reviewed``, the page's; else this request's):
    another administrator or worker published or switched it since, so the report no longer describes this change.

    Returns the manifest entry plus "previous" (the version it replaced) and "message_zh"."""
    item, mapping, rep = review(ctx, token, chosen)
    if not rep["ok"]:
        raise DataError("校验未通过，不能发布：" + "；".join(rep["problems"]), "validation failed; nothing was published",
                        details={"problems": rep["problems"]})
    if rep["needs_confirmation"] and confirm != rep["confirm_code"]:
        raise ConflictError("与现行版本或规划相比有重大变化，须明确确认后才能发布：" + "；".join(c["text_zh"] for c in rep["changes"])
                            + "。请在校验报告中勾选确认这些变化（命令行加 --confirm-change）；未发布任何内容。",
                            "the layer changes beyond the threshold; confirm the named changes to publish (nothing was published)",
                            details={"changes": rep["changes"]})
    previous = rep["previous"]["version"]
    check_replaces(previous, reviewed, item.adcode, item.kind.key)
    gdf = layer_import.build_layer(item, mapping, "pending", actor.username)
    confirmed = f"；已确认：{'；'.join(c['text_zh'] for c in rep['changes'])}" if rep["changes"] else ""
    adm = rep.get("admission") or {}
    with_list = (f"，准入清单 {item.admission.source_name}（{adm.get('matched_units', 0)} 个单元按编码填入）" if item.admission else "")

    def audit(entry: dict) -> dict:  # written by the repository together with the version
        return ctx.audit_row(actor, "publish", f"发布 {item.adcode} {item.kind.name_zh} {entry['id']}（{entry['feature_count']} 个要素{with_list}，"
                             f"替换 {version_label(previous)}）{confirmed}", {f"{item.adcode}/{item.kind.key}": entry["id"]}, item.input_sha256)

    meta = {"source_name": item.source_name, "input_sha256": item.input_sha256, "created_by": actor.username, "mapping": mapping}
    if item.admission is not None:
        meta["admission_list"] = {"source_name": item.admission.source_name, "input_sha256": item.admission.input_sha256,
                                  "matched_units": adm.get("matched_units", 0)}
    entry = ctx.repository.publish(item.adcode, item.kind.key, gdf, meta, audit=audit, replaces=previous)
    ctx.live.reload()
    ctx.staging.pop(token)
    message = (f"已发布 {_names(ctx, item.adcode, item.kind)}：{version_label(previous)} → {entry['id']}"
               f"（{entry['feature_count']} 个要素，融合面积 {entry['dissolved_m2'] / M2_PER_KM2:.4f} km²）")
    return {**entry, "previous": previous, "message_zh": message}


def rollback(ctx, actor, adcode: str, kind: str, version: str) -> dict:
    """Make any kept version of this district and kind (earlier or later, or the demo layer) current again.

    Returns {"adcode", "kind", "from", "to", "direction" ("back" | "forward" | "same"), "message_zh"}."""
    snap = ctx.live.get()
    snap.districts.check(adcode)
    found = _thematic_kind(ctx, kind)
    before = snap.store.layer_version(adcode, found.key)
    a, b = _ordinal(before), _ordinal(version) if version == DEMO or version[1:].isdigit() else -1
    direction = "back" if b < a else ("forward" if b > a else "same")
    verb = {"back": "回退到较早的版本", "forward": "前进到较新的版本", "same": "保持当前版本"}[direction]
    ctx.repository.rollback(adcode, found.key, version, audit=ctx.audit_row(
        actor, "rollback", f"{'回退' if direction == 'back' else '切换'} {adcode} {found.name_zh}：{version_label(before)} → {version}",
        {f"{adcode}/{found.key}": version}))
    ctx.live.reload()
    return {"adcode": adcode, "kind": found.key, "from": before, "to": version, "direction": direction,
            "message_zh": f"已切换 {_names(ctx, adcode, found)}：{version_label(before)} → {version_label(version)}（{verb}）"}


def history(ctx, adcode: str | None = None) -> list[dict]:
    return ctx.repository.history(adcode)


def dashboard(ctx) -> dict:
    """What the administrator's page lists: every district × kind with its current version and every kept version
    (the demo layer first, then oldest to newest), and the history."""
    snap = ctx.live.get()
    current = ctx.repository.current_versions()
    history_rows = ctx.repository.history()
    rows = []
    for a, p in snap.districts.plans.items():
        for k in ctx.vocab.thematic:
            now = current.get(f"{a}/{k.key}", DEMO)
            kept = [{"id": DEMO, "label": version_label(DEMO), "created_at": None, "feature_count": None, "dissolved_m2": None}]
            kept += [{"id": v["id"], "label": v["id"], "created_at": v["created_at"], "feature_count": v["feature_count"],
                      "dissolved_m2": v["dissolved_m2"]} for v in reversed(history_rows) if v["adcode"] == a and v["kind"] == k.key]
            for v in kept:
                v["current"] = v["id"] == now
                v["direction"] = "same" if v["current"] else ("back" if _ordinal(v["id"]) < _ordinal(now) else "forward")
            rows.append({"adcode": a, "name": p["name"], "kind": k.key, "kind_name_zh": k.name_zh, "current": now,
                         "current_label": version_label(now), "versions": kept})
    return {"rows": rows, "history": history_rows, "districts": snap.districts.districts(),
            "kinds": {k.key: k.name_zh for k in ctx.vocab.thematic},
            "admission_kinds": {k.key: [k.attribute(a).label for a in k.admission_list]
                                for k in ctx.vocab.thematic if k.admission_list}}
