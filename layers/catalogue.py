"""The catalogue of layer kinds: one place for names, geometry types, attributes, styles and legends.

The map page, the API, the validators and the demo builder all read this table, so a new
kind (e.g. 永久基本农田) is added here and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass, field

COMMON_ATTRIBUTES = ("feature_id", "name", "adcode", "source", "is_demo")


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str
    fill: str | None = None
    shape: str = "polygon"  # polygon | circle


@dataclass(frozen=True)
class LayerKind:
    key: str
    name_zh: str
    geometry_types: tuple[str, ...]
    attributes: tuple[str, ...]
    popup_fields: tuple[tuple[str, str], ...]
    style: dict
    legend: tuple[LegendItem, ...]
    # attribute whose value picks a style override, and the overrides
    style_by: str | None = None
    style_values: dict = field(default_factory=dict)
    rule_key: str | None = None  # key in plan control_rules

    @property
    def required_attributes(self) -> tuple[str, ...]:
        return COMMON_ATTRIBUTES + self.attributes

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "name_zh": self.name_zh,
            "geometry_types": list(self.geometry_types),
            "attributes": list(self.required_attributes),
            "popup_fields": [list(p) for p in self.popup_fields],
            "style": self.style,
            "style_by": self.style_by,
            "style_values": self.style_values,
            "legend": [vars(item) for item in self.legend],
            "rule_key": self.rule_key,
        }


POLYGON = ("Polygon", "MultiPolygon")

ZONE_COLORS = {"一级保护区": "#08306b", "二级保护区": "#2171b5", "准保护区": "#9ecae1"}
PA_COLORS = {
    "自然保护区": "#006d2c",
    "森林公园": "#41ab5d",
    "湿地公园": "#17becf",
    "风景名胜区": "#d95f02",
    "地质公园": "#8c6d31",
}
LEVEL_RADIUS = {"国控": 9, "市控": 7, "区控": 5}

KINDS: dict[str, LayerKind] = {
    k.key: k
    for k in (
        LayerKind(
            key="district",
            name_zh="行政区界",
            geometry_types=POLYGON,
            attributes=("full_name",),
            popup_fields=(("name", "名称"), ("full_name", "全称"), ("adcode", "行政区划代码")),
            style={"color": "#333333", "weight": 2.5, "fill": False, "dashArray": "6 4"},
            legend=(LegendItem("行政区界", "#333333", None),),
        ),
        LayerKind(
            key="redline",
            name_zh="生态保护红线",
            geometry_types=POLYGON,
            attributes=("function",),
            popup_fields=(("name", "名称"), ("function", "主导功能")),
            style={"color": "#c00000", "weight": 1.2, "fillColor": "#e31a1c", "fillOpacity": 0.35},
            legend=(LegendItem("生态保护红线", "#c00000", "#e31a1c"),),
            rule_key="redline",
        ),
        LayerKind(
            key="water_source_zone",
            name_zh="饮用水水源保护区",
            geometry_types=POLYGON,
            attributes=("source_name", "zone", "water_body", "scale", "method"),
            popup_fields=(
                ("name", "名称"),
                ("source_name", "水源地"),
                ("zone", "保护区级别"),
                ("water_body", "水源类型"),
                ("scale", "规模"),
                ("method", "划分方法"),
            ),
            style={"color": "#08306b", "weight": 1, "fillColor": "#2171b5", "fillOpacity": 0.45},
            style_by="zone",
            style_values={z: {"color": c, "fillColor": c} for z, c in ZONE_COLORS.items()},
            legend=tuple(LegendItem(z, c, c) for z, c in ZONE_COLORS.items()),
            rule_key="water_source_zone",
        ),
        LayerKind(
            key="protected_area",
            name_zh="自然保护地",
            geometry_types=POLYGON,
            attributes=("pa_type", "level"),
            popup_fields=(("name", "名称"), ("pa_type", "类型"), ("level", "级别")),
            style={"color": "#006d2c", "weight": 1.2, "fillColor": "#41ab5d", "fillOpacity": 0.35},
            style_by="pa_type",
            style_values={t: {"color": c, "fillColor": c} for t, c in PA_COLORS.items()},
            legend=tuple(LegendItem(t, c, c) for t, c in PA_COLORS.items()),
            rule_key="protected_area",
        ),
        LayerKind(
            key="monitoring_section",
            name_zh="监测断面",
            geometry_types=("Point",),
            attributes=("river", "water_body", "level", "target_class", "class_2020"),
            popup_fields=(
                ("name", "断面名称"),
                ("river", "河流/湖库"),
                ("level", "级别"),
                ("target_class", "目标水质类别"),
                ("class_2020", "2020年水质类别（规划）"),
            ),
            style={"color": "#ffffff", "weight": 1.5, "fillColor": "#6a3d9a", "fillOpacity": 0.95, "radius": 7},
            style_by="level",
            style_values={lvl: {"radius": r} for lvl, r in LEVEL_RADIUS.items()},
            legend=tuple(LegendItem(lvl, "#6a3d9a", "#6a3d9a", shape="circle") for lvl in LEVEL_RADIUS),
            rule_key="monitoring_section",
        ),
    )
}



def get_kind(key: str) -> LayerKind | None:
    return KINDS.get(key)
