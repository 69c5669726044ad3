"""Loading official layers: read an upload, report on it, map its fields, build the layer.

Nothing is published here: the administrator reads the validation report (CRS, counts,
repairs, duplicates, field mapping, dissolved area and share of the district) first.
"""
from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import geopandas as gpd
import shapely

from geo import sites as site_input
from geo.area import M2_PER_KM2, area_m2
from geo.crs import GEO_EPSG, parse_crs
from geo.vocabulary import LayerKind

CHINA_TZ = timezone(timedelta(hours=8))


@dataclass
class StagedImport:
    token: str
    adcode: str
    kind: LayerKind
    source_name: str
    input_sha256: str
    sites: list
    created_by: str
    created_at: str = field(default_factory=lambda: datetime.now(CHINA_TZ).isoformat(timespec="seconds"))

    @property
    def fields(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.sites:
            for k in s.properties:
                seen.setdefault(str(k), None)
        return list(seen)


def stage(filename: str, data: bytes, adcode: str, kind: LayerKind, crs_text: str | None, limits, user: str,
          district_lon: float) -> StagedImport:
    crs = parse_crs(crs_text)
    # strict: a layer that would lose a feature is refused whole, never published short of it
    sites = site_input.sites_from_upload(filename, data, crs, limits, district_lon, strict=True)
    return StagedImport(secrets.token_urlsafe(16), adcode, kind, filename, hashlib.sha256(data).hexdigest(), sites, user)


def auto_mapping(staged: StagedImport) -> dict[str, str]:
    """Source field for each attribute, by the vocabulary's synonyms (BHMC → name); case ignored."""
    lower = {f.lower(): f for f in staged.fields}
    mapping = {}
    for attr in staged.kind.importable:
        for candidate in attr.synonyms:
            if candidate.lower() in lower:
                mapping[attr.key] = lower[candidate.lower()]
                break
    return mapping


def _value(site, field_name: str | None, attr) -> str:
    raw = site.properties.get(field_name) if field_name else None
    return attr.canonical("" if raw is None else str(raw).strip())


def report(staged: StagedImport, mapping: dict[str, str], district_geom) -> dict:
    kind = staged.kind
    geom_types = Counter(s.geometry.geom_type for s in staged.sites)
    expected = set(kind.geometry_types) | ({"MultiPoint"} if "Point" in kind.geometry_types else set())
    problems = []
    wrong = {t: n for t, n in geom_types.items() if t not in expected}
    if wrong:
        problems.append(f"几何类型 {dict(wrong)} 不符合“{kind.name_zh}”要求的 {'/'.join(kind.geometry_types)}")
    repaired = [{"feature": i + 1, "note": n} for i, s in enumerate(staged.sites) for n in s.notes if "make_valid" in n]
    keys = [shapely.to_wkb(shapely.normalize(s.geometry)) for s in staged.sites]
    dup_counts = Counter(keys)
    duplicates = [i + 1 for i, k in enumerate(keys) if dup_counts[k] > 1]
    missing = [a for a in kind.import_required if not mapping.get(a)]
    if missing:
        problems.append(f"必需字段未映射：{'、'.join(missing)}")
    unknown_fields = [f for f in mapping.values() if f and f not in staged.fields]
    if unknown_fields:
        problems.append(f"映射的源字段不存在：{'、'.join(unknown_fields)}")
    value_problems = []
    for attr in kind.own:
        if attr.values and mapping.get(attr.key):
            bad = sorted({_value(s, mapping[attr.key], attr) for s in staged.sites} - set(attr.values))
            if bad:
                value_problems.append(f"{attr.label}（{attr.key}）取值不在 {'、'.join(attr.values)} 中：{'、'.join(bad[:5])}")
    name_attr = kind.attribute("name")
    empty_names = [i + 1 for i, s in enumerate(staged.sites) if not _value(s, mapping.get("name"), name_attr)]
    if mapping.get("name") and empty_names:
        value_problems.append(f"{len(empty_names)} 个要素名称为空（第 {', '.join(map(str, empty_names[:10]))} 个）")
    problems += value_problems
    union = shapely.union_all([s.geometry for s in staged.sites])
    dissolved = area_m2(union)
    district_m2 = area_m2(district_geom)
    inside = area_m2(shapely.intersection(union, district_geom)) if dissolved else 0.0
    naive = sum(area_m2(s.geometry) for s in staged.sites)
    crs_info = staged.sites[0].crs if staged.sites else {}
    return {
        "adcode": staged.adcode, "kind": kind.key, "kind_name_zh": kind.name_zh, "source_name": staged.source_name,
        "input_sha256": staged.input_sha256, "crs": crs_info, "feature_count": len(staged.sites),
        "geometry_types": dict(geom_types), "repaired": repaired, "duplicates": duplicates, "fields": staged.fields,
        "mapping": mapping, "required": list(kind.import_required), "attributes": [a.key for a in kind.importable],
        "attribute_labels": {a.key: a.label for a in kind.importable},
        "naive_sum_m2": round(naive, 2), "dissolved_m2": round(dissolved, 2), "dissolved_km2": round(dissolved / M2_PER_KM2, 4),
        "inside_district_m2": round(inside, 2), "outside_district_m2": round(dissolved - inside, 2),
        "share_of_district_pct": round(inside / district_m2 * 100, 4) if district_m2 else None,
        "problems": problems, "ok": not problems,
    }


def build_layer(staged: StagedImport, mapping: dict[str, str], version_hint: str, published_by: str) -> gpd.GeoDataFrame:
    kind = staged.kind
    rows = []
    source = f"正式数据：{staged.source_name}（{published_by} 于 {datetime.now(CHINA_TZ):%Y-%m-%d} 导入）"
    for i, s in enumerate(staged.sites, 1):
        row = {"feature_id": f"{staged.adcode}-{kind.key}-{version_hint}-{i:04d}", "name": _value(s, mapping.get("name"), kind.attribute("name")),
               "adcode": staged.adcode, "source": source, "is_demo": 0}
        for attr in kind.own:
            row[attr.key] = _value(s, mapping.get(attr.key), attr)
        geom = s.geometry
        if kind.is_point and geom.geom_type == "MultiPoint":
            geom = geom.geoms[0]
        row["geometry"] = geom
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=GEO_EPSG)
