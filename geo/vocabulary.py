"""The one vocabulary (data/vocabulary.yaml): layer kinds, attributes and their allowed values,
labels, colours, status words, relation words and monitoring levels.

Every other module reads words from here, so a label or colour is spelled once and a new
layer kind is one entry in the file plus its demo data. Kinds are per Vocabulary object (a
deployment or a test may load its own file); status, relation and level words come from the
shipped file, which `default()` returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from geo.data_files import load_yaml
from geo.errors import ConfigError, NotFoundError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
VOCABULARY_PATH = DATA_DIR / "vocabulary.yaml"
SCHEMA_PATH = DATA_DIR / "vocabulary.schema.json"
GEOMETRY_TYPES = {"polygon": ("Polygon", "MultiPolygon"), "point": ("Point",)}


@dataclass(frozen=True)
class Attribute:
    key: str
    label: str
    required: bool = False
    synonyms: tuple[str, ...] = ()
    values: dict = field(default_factory=dict)  # allowed value → {"color", "aliases"}

    def canonical(self, text: str) -> str:
        """An imported value with its alias resolved (一级 → 一级保护区)."""
        for value, spec in self.values.items():
            if text in spec.get("aliases", ()):
                return value
        return text


@dataclass(frozen=True)
class LayerKind:
    key: str
    name_zh: str
    geometry: str
    own: tuple[Attribute, ...]
    common: tuple[Attribute, ...]
    popup: tuple[str, ...]
    style: dict
    style_by: str | None = None
    level_by: str | None = None
    screened: bool = False
    group_by: str | None = None
    in_shares: bool = False
    overlap_by: str | None = None
    overlap_color: str = "#333333"
    rule_key: str | None = None
    levels: dict = field(default_factory=dict)
    zoning: bool = False  # the features tile each district: screening names those the site lies in, no distances
    name_by: str | None = None  # attribute naming a feature in verdict lines (the unit code)
    admission_list: tuple[str, ...] = ()  # text attributes forming the feature's 准入清单, one per dimension
    print_hatch: str | None = None  # print maps: outline and hatch instead of a fill, so kinds under it stay readable
    symbols: dict = field(default_factory=dict)  # level value → {shape, radius, symbol}: 国控/市控/区控 drawn apart

    @property
    def geometry_types(self) -> tuple[str, ...]:
        return GEOMETRY_TYPES[self.geometry]

    @property
    def is_point(self) -> bool:
        return self.geometry == "point"

    @property
    def attributes(self) -> tuple[str, ...]:
        """The kind's own attribute names (the common ones are on every kind)."""
        return tuple(a.key for a in self.own)

    @property
    def required_attributes(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.common) + self.attributes

    def attribute(self, key: str) -> Attribute:
        return next(a for a in self.common + self.own if a.key == key)

    @property
    def import_required(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.common + self.own if a.required)

    @property
    def importable(self) -> tuple[Attribute, ...]:
        """Attributes an import maps from source fields: name and the kind's own."""
        return (self.attribute("name"),) + self.own

    def style_values(self) -> dict:
        if self.style_by:
            return {v: {"color": s["color"], "fillColor": s["color"]} for v, s in self.attribute(self.style_by).values.items()}
        if self.level_by:
            return {lvl: {"radius": spec["radius"]} for lvl, spec in self.levels.items()}
        return {}

    def legend(self) -> list[dict]:
        if self.style_by:
            return [{"label": v, "color": s["color"], "fill": s["color"],
                     "shape": self.symbols[v]["shape"] if v in self.symbols else "circle" if self.is_point else "polygon"}
                    for v, s in self.attribute(self.style_by).values.items()]
        if self.level_by:
            return [{"label": lvl, "color": self.style["fillColor"], "fill": self.style["fillColor"], "shape": self.symbols.get(lvl, {}).get("shape", "circle")}
                    for lvl in self.levels]
        if self.print_hatch:
            return [{"label": self.name_zh, "color": self.style.get("color"), "fill": self.style.get("fillColor"), "shape": "hatch"}]
        return [{"label": self.name_zh, "color": self.style.get("color"), "fill": self.style.get("fillColor"),
                 "shape": "circle" if self.is_point else "polygon"}]

    def to_dict(self) -> dict:
        """The kind as the layer API, the map script and the OpenAPI document see it."""
        return {
            "key": self.key,
            "name_zh": self.name_zh,
            "geometry_types": list(self.geometry_types),
            "attributes": list(self.required_attributes),
            "popup_fields": [[a, self.attribute(a).label] for a in self.popup],
            "style": self.style,
            "style_by": self.style_by or self.level_by,
            "style_values": self.style_values(),
            "legend": self.legend(),
            "rule_key": self.rule_key,
            "screened": self.screened,
            "in_shares": self.in_shares,
            "zoning": self.zoning,
            "admission_list": [[a, self.attribute(a).label] for a in self.admission_list],
            "symbols": self.symbols,
            "hatch": bool(self.print_hatch),
        }


class Vocabulary:
    def __init__(self, raw: dict, path: Path):
        self.path = Path(path)
        self.raw = raw
        common = tuple(_attribute(k, v) for k, v in raw["common_attributes"].items())
        self.levels = raw["monitoring_levels"]
        self.kinds: dict[str, LayerKind] = {}
        for key, spec in raw["kinds"].items():
            own = tuple(_attribute(k, v) for k, v in spec["attributes"].items())
            names = {a.key for a in common + own}
            for ref in ("style_by", "level_by", "group_by", "overlap_by", "name_by"):
                if spec.get(ref) and spec[ref] not in names:
                    raise ConfigError(path, f"kinds/{key}/{ref}", f"属性 {spec[ref]} 不在该类图层的属性中 / not an attribute of the kind")
            for ref in ("popup", "admission_list"):
                for attr in spec.get(ref, ()):
                    if attr not in names:
                        raise ConfigError(path, f"kinds/{key}/{ref}", f"属性 {attr} 不在该类图层的属性中 / not an attribute of the kind")
            if spec.get("style_by") and not next(a for a in common + own if a.key == spec["style_by"]).values:
                raise ConfigError(path, f"kinds/{key}/style_by", "着色属性须列出取值与颜色 / style_by needs values with colours")
            self.kinds[key] = LayerKind(
                key=key, name_zh=spec["label"], geometry=spec["geometry"], own=own, common=common, popup=tuple(spec["popup"]),
                style=spec["style"], style_by=spec.get("style_by"), level_by=spec.get("level_by"), screened=spec["screened"],
                group_by=spec.get("group_by"), in_shares=spec["in_shares"], overlap_by=spec.get("overlap_by"),
                overlap_color=spec.get("overlap_color", spec["style"].get("color", "#333333")),
                rule_key=spec.get("rules", key), levels=self.levels if spec.get("level_by") else {},
                zoning=spec.get("zoning", False), name_by=spec.get("name_by"), admission_list=tuple(spec.get("admission_list", ())),
                print_hatch=spec.get("print_hatch"), symbols=self.levels if spec.get("level_by") else {})
        self.requirement_levels = tuple(raw["requirement_levels"])
        self.air_levels = raw["air_station_levels"]
        if "air_station" in self.kinds:  # stations are coloured by level and shaped by it too
            self.kinds["air_station"] = replace(self.kinds["air_station"], symbols=self.air_levels)
        if "air_station" in self.kinds and set(self.air_levels) != set(self.kinds["air_station"].attribute("level").values):
            raise ConfigError(path, "air_station_levels", "应与 air_station 的级别取值一一对应 / must list exactly the air_station level values")
        self.statuses = raw["statuses"]
        self.relations = raw["relations"]
        self.conflicts = raw["conflicts"]
        self.project_fields = raw["project_fields"]
        self.basemap_layers = raw["basemap_layers"]

    def basemap_class(self, layer_name: str) -> str:
        """The basemap layer class a layer name suggests (河流, river_l → water_line); "other" when none does."""
        low = layer_name.lower()
        return next((key for key, spec in self.basemap_layers.items() if any(n.lower() in low for n in spec["names"])), "other")

    def kind(self, key: str) -> LayerKind:
        """The kind, or NotFoundError naming the known ones."""
        if key not in self.kinds:
            raise NotFoundError(f"未知的图层类型：{str(key)[:40]}（可用：{'、'.join(self.kinds)}）",
                                f"unknown layer kind: {str(key)[:40]} (known: {', '.join(self.kinds)})")
        return self.kinds[key]

    @property
    def screened(self) -> list[LayerKind]:
        return [k for k in self.kinds.values() if k.screened]

    @property
    def thematic(self) -> list[LayerKind]:
        """Every kind but the district boundary: what an administrator imports and publishes."""
        return [k for k in self.kinds.values() if k.key != "district"]

    @property
    def rule_labels(self) -> dict[str, str]:
        """control_rules key of the plans → the label of the kind the rules are for."""
        return {k.rule_key: k.name_zh for k in self.kinds.values() if k.rule_key}

    def to_json(self) -> dict:
        """What the browser needs: kinds, words and colours (served to the page scripts)."""
        return {"kinds": {k: v.to_dict() for k, v in self.kinds.items()}, "levels": self.levels, "air_levels": self.air_levels,
                "statuses": self.statuses,
                "relations": self.relations, "conflicts": self.conflicts, "requirement_levels": list(self.requirement_levels),
                "project_fields": self.project_fields, "basemap_layers": self.basemap_layers}


def _attribute(key: str, spec: dict) -> Attribute:
    return Attribute(key, spec["label"], spec.get("required", False), tuple(spec.get("synonyms", (key,))), spec.get("values", {}))


def load(path: Path | str = VOCABULARY_PATH) -> Vocabulary:
    return Vocabulary(load_yaml(path, SCHEMA_PATH, "词汇表"), Path(path))


@lru_cache(maxsize=1)
def default() -> Vocabulary:
    """The shipped vocabulary: the source of status, relation and level words for the engine."""
    return load(VOCABULARY_PATH)


def status(set_name: str, key: str) -> str:
    """A status word from the shipped vocabulary, e.g. status("share", "ok") → 符合."""
    return default().statuses[set_name][key]["label"]


def status_css(label: str, set_name: str) -> str:
    """The ASCII CSS class for a status word (符合 → ok), for pages and the PDF (a Jinja filter)."""
    return next((s["css"] for s in default().statuses[set_name].values() if s["label"] == label), "none")


def relation(key: str) -> str:
    return default().relations[key]["label"]


GEOMETRY_TYPES_ZH = {"Point": "点", "MultiPoint": "多点", "LineString": "线", "MultiLineString": "多段线", "Polygon": "面",
                     "MultiPolygon": "多个面（多地块）", "GeometryCollection": "混合几何"}


def geometry_type_zh(geometry_type: str, vertex_count: int | None = None) -> str:
    """A site's geometry in reviewers' words (Polygon, 5 vertices → 面（5 个拐点）), for pages and reports (a Jinja filter)."""
    word = GEOMETRY_TYPES_ZH.get(geometry_type, geometry_type)
    return f"{word}（{vertex_count} 个拐点）" if vertex_count is not None else word
