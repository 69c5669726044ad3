"""Official layers (正式图层): stage an upload, review its validation report, publish it as a new
version, roll back, list the history. Publishing and rollback are audited here and nowhere else."""
from __future__ import annotations

from geo.errors import DataError, NotFoundError
from layers import layer_import
from layers.versions import DEMO


def _thematic_kind(ctx, kind: str):
    found = ctx.vocab.kind(kind)
    if found.key == "district":
        raise DataError("行政区界不能在此导入", "the district boundary is not imported here")
    return found


def stage(ctx, actor, filename: str, data: bytes, adcode: str, kind: str, crs: str | None):
    """Read and keep an upload for review (in memory): nothing is written before publishing."""
    snap = ctx.live.get()
    snap.districts.check(adcode)
    staged = layer_import.stage(filename, data, adcode, _thematic_kind(ctx, kind), crs or None, ctx.limits, actor.username,
                                snap.districts.district_centre_lon(adcode))
    ctx.staging.put(staged)
    return staged


def staged(ctx, token: str):
    found = ctx.staging.get(token)
    if found is None:
        raise NotFoundError("待发布的导入不存在或已过期（1 小时），请重新上传", "staged import not found or expired")
    return found


def review(ctx, token: str, chosen: dict | None = None) -> tuple[object, dict, dict]:
    """(staged import, field mapping, validation report); chosen overrides the automatic mapping."""
    item = staged(ctx, token)
    mapping = layer_import.auto_mapping(item)
    mapping.update({k: v for k, v in (chosen or {}).items() if k in {a.key for a in item.kind.importable}})
    district_geom = ctx.live.get().districts.store.read("district", item.adcode).geometry.union_all()
    return item, mapping, layer_import.report(item, mapping, district_geom)


def publish(ctx, actor, token: str, chosen: dict | None = None) -> dict:
    """Publish a reviewed import as the new current version; refused whole if validation fails."""
    item, mapping, rep = review(ctx, token, chosen)
    if not rep["ok"]:
        raise DataError("校验未通过，不能发布：" + "；".join(rep["problems"]), "validation failed; nothing was published",
                        details={"problems": rep["problems"]})
    gdf = layer_import.build_layer(item, mapping, "pending", actor.username)
    entry = ctx.repository.publish(item.adcode, item.kind.key, gdf, {"source_name": item.source_name, "input_sha256": item.input_sha256,
                                                                     "created_by": actor.username, "mapping": mapping})
    ctx.live.reload()
    ctx.staging.pop(token)
    ctx.record(actor, "publish", f"发布 {item.adcode} {item.kind.name_zh} {entry['id']}（{entry['feature_count']} 个要素）",
               {f"{item.adcode}/{item.kind.key}": entry["id"]}, input_sha256=item.input_sha256)
    return entry


def rollback(ctx, actor, adcode: str, kind: str, version: str) -> None:
    """Make an earlier version of this district and kind (or the demo layer) current again."""
    ctx.live.get().districts.check(adcode)
    found = _thematic_kind(ctx, kind)
    ctx.repository.rollback(adcode, found.key, version)
    ctx.live.reload()
    ctx.record(actor, "rollback", f"回退 {adcode} {found.name_zh} 至 {version}", {f"{adcode}/{found.key}": version})


def history(ctx, adcode: str | None = None) -> list[dict]:
    return ctx.repository.history(adcode)


def dashboard(ctx) -> dict:
    """What the administrator's page lists: every district × kind with its current version, and the history."""
    snap = ctx.live.get()
    current = ctx.repository.current_versions()
    rows = [{"adcode": a, "name": p["name"], "kind": k.key, "kind_name_zh": k.name_zh, "current": current.get(f"{a}/{k.key}", DEMO)}
            for a, p in snap.districts.plans.items() for k in ctx.vocab.thematic]
    return {"rows": rows, "history": ctx.repository.history(), "districts": snap.districts.districts(),
            "kinds": {k.key: k.name_zh for k in ctx.vocab.thematic}}
