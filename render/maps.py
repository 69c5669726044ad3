"""The district "一张图" as a Folium map whose every script and stylesheet is served by the app.

Layers are loaded by URL (fetch) rather than inlined, so the page stays small whatever
the size of the layers, and they are styled in the browser from the catalogue.
"""
from __future__ import annotations

import folium
import folium.plugins
import shapely
import shapely.geometry
from folium.map import Layer
from jinja2 import Template

from geo import vocabulary

DEMO_ATTRIBUTION = f"专题图层为<b>{vocabulary.status('data', 'demo')}</b>（非官方矢量）"


class RemoteGeoJson(Layer):
    """An overlay filled by fetch() from the layer API and styled from the vocabulary."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = ZoningMap.remoteLayer({{ this.config|tojson }});
        {%- if this.show %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}"""
    )

    def __init__(self, name: str, config: dict, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RemoteGeoJson"
        self.config = config


class BaseLayer(Layer):
    """A base map of services/basemaps.py (offline reference layers, local tiles, a tile URL), built in the browser."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = ZoningMap.baseLayer({{ this.config|tojson }});
        {%- if this.show %}
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- endif %}
        {% endmacro %}"""
    )

    def __init__(self, config: dict, show: bool):
        super().__init__(name=config["label"], overlay=False, control=True, show=show)
        self._name = "BaseLayer"
        self.config = config


def add_base_layers(m: folium.Map, basemaps: list[dict]) -> None:
    """Every base map in the layer control, offline ones first (services.basemaps orders them), the default shown."""
    for cfg in basemaps:
        BaseLayer(cfg, show=cfg["default"]).add_to(m)


class MapControls(folium.MacroElement):
    """Metric scale bar, search, coordinate readout and legend (static/js/zoning_map.js)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        ZoningMap.searchControl({{ this._parent.get_name() }}, {{ this.initials|tojson }});
        ZoningMap.coordsControl({{ this._parent.get_name() }});
        ZoningMap.legendControl({{ this._parent.get_name() }}, {{ this.legend|tojson }});
        ZoningMap.drawScreen({{ this._parent.get_name() }}, {{ this.adcode|tojson }});
        ZoningMap.measureControl({{ this._parent.get_name() }});
        ZoningMap.printControl({{ this._parent.get_name() }}, {{ this.adcode|tojson }}, {{ this.title|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, legend: list, adcode: str, title: str = "", initials: dict | None = None):
        super().__init__()
        self._name = "MapControls"
        self.initials = initials or {}
        self.legend = legend
        self.adcode = adcode
        self.title = title


class FitToScreen(folium.MacroElement):
    """Popups sized to the map and auto-panned; on a phone, the layer control and the legend folded."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        ZoningMap.fitToScreen({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self):
        super().__init__()
        self._name = "FitToScreen"


def _local_assets(element, static: str, js: list[tuple[str, str]], css: list[tuple[str, str]]):
    element.default_js = [(name, f"{static}/{path}") for name, path in js]
    element.default_css = [(name, f"{static}/{path}") for name, path in css]


def _base_map(bounds, static: str, draw: bool = False) -> folium.Map:
    """A Folium map fitted to lon/lat bounds whose scripts and styles all come from this app."""
    minx, miny, maxx, maxy = bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10, tiles=None, control_scale=False)
    js = [("leaflet", "vendor/leaflet/leaflet.js"), ("proj4", "vendor/proj4/proj4.js"),
          ("protomaps_leaflet", "vendor/protomaps-leaflet/protomaps-leaflet.js")]
    css = [("leaflet_css", "vendor/leaflet/leaflet.css")]
    if draw:
        js.append(("leaflet_draw", "vendor/leaflet-draw/leaflet.draw.js"))
        css.append(("leaflet_draw_css", "vendor/leaflet-draw/leaflet.draw.css"))
    _local_assets(m, static, js + [("zoning_map", "js/zoning_map.js")], css + [("zoning_map_css", "css/map.css")])
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    FitToScreen().add_to(m)
    return m


def build_district_map(adcode: str, plan: dict, bounds, basemaps: list[dict], vocab, demo_kinds: frozenset,
                       initials: dict | None = None, static: str = "/static", tiled: dict | None = None) -> folium.Map:
    """bounds: (minx, miny, maxx, maxy) in lon/lat; basemaps: services.basemaps' list; demo_kinds: kinds still on
    demo geometry (labelled 示意); initials: feature name → pinyin initials for the search box; tiled: kind → its
    vector tiles (services.layer_tiles), for the layers too heavy for one GeoJSON download."""
    m = _base_map(bounds, static, draw=True)
    add_base_layers(m, basemaps)

    legend = []
    for key, kind in vocab.kinds.items():
        rules = plan["control_rules"].get(kind.rule_key or "", []) if kind.rule_key else []
        cfg = kind.to_dict()
        cfg.update({
            "url": f"/api/districts/{adcode}/layers/{key}?display=1",
            "rules": [{"text": r["text"], "line": r["source"]["line"]} for r in rules],
            "plan_title": plan["plan_title"],
            "attribution": DEMO_ATTRIBUTION if key != "district" and key in demo_kinds else "",
            **(tiled or {}).get(key, {}),
        })
        RemoteGeoJson(kind.name_zh, cfg, show=not kind.zoning).add_to(m)  # units cover the whole district: off until asked for
        legend.append({"title": kind.name_zh, "items": cfg["legend"]})

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    fullscreen = folium.plugins.Fullscreen(position="topleft", title="全屏", title_cancel="退出全屏", force_separate_button=True)
    _local_assets(fullscreen, static, [("Control.Fullscreen.js", "vendor/leaflet-fullscreen/Control.FullScreen.js")],
                  [("Control.FullScreen.css", "vendor/leaflet-fullscreen/Control.FullScreen.css")])
    fullscreen.add_to(m)
    MapControls(legend, adcode, f"{plan.get('name', adcode)}生态环境管控一张图", initials).add_to(m)
    return m


def render_parts(m: folium.Map) -> dict:
    """Header, body and script of a Folium map, for embedding in a page template."""
    root = m.get_root()
    root.render()
    return {"header": root.header.render(), "body": root.html.render(), "script": root.script.render()}


def build_result_map(results: list[dict], overlaps: dict, vocab, demo_layers: frozenset, basemaps: list[dict],
                     static: str = "/static", tiled: dict | None = None) -> folium.Map:
    """The site in black, the overlap pieces solid, the district layers faded behind.

    No tooltips from folium here: they insert attribute values as HTML, and names may come from uploads.
    """
    sites = shapely.union_all([r["_site_geometry"] for r in results])
    m = _base_map(sites.buffer(0.004).bounds, static)
    add_base_layers(m, basemaps)
    adcodes = sorted({d["adcode"] for r in results for d in r["site"]["districts"]})
    for adcode in adcodes:
        for key, kind in vocab.kinds.items():
            cfg = kind.to_dict()
            style = dict(cfg["style"])
            style["opacity"] = 0.35
            style["fillOpacity"] = min(style.get("fillOpacity", 0.3), 0.12)
            cfg.update({"url": f"/api/districts/{adcode}/layers/{key}?display=1", "rules": [], "plan_title": "",
                        "style": style, "style_values": {k: {**v, "fillOpacity": 0.12} for k, v in cfg["style_values"].items()},
                        "attribution": DEMO_ATTRIBUTION if f"{adcode}/{key}" in demo_layers else "",
                        **(tiled or {}).get(adcode, {}).get(key, {})})
            RemoteGeoJson(f"{kind.name_zh}（{adcode}）", cfg, show=not kind.zoning).add_to(m)
    colors = {k: v.overlap_color for k, v in vocab.kinds.items()}
    zoning = {k for k, v in vocab.kinds.items() if v.zoning}
    # the site's parts in each unit: outlined only, so the overlaps with protected zones stay visible
    folium.GeoJson(overlaps, name="重叠部分", style_function=lambda f: {
        "color": colors.get(f["properties"]["kind"], "#333"), "weight": 2, "fillOpacity": 0.75}
        if f["properties"]["kind"] not in zoning else {"color": colors.get(f["properties"]["kind"], "#333"), "weight": 1.5,
                                                        "dashArray": "4 3", "fillOpacity": 0}).add_to(m)
    site_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(r["_site_geometry"]),
         "properties": {"name": r["site"].get("name") or f"项目{i}", "index": i}} for i, r in enumerate(results, 1)]}
    present = sorted({f["properties"]["kind"] for f in overlaps["features"]} - zoning, key=list(vocab.kinds).index)
    legend = [{"title": "项目", "items": [{"label": "项目范围（点位为黄点）", "color": "#000", "fill": "none", "shape": "polygon"}]}]
    if present:
        legend.append({"title": "项目与保护区域的重叠部分", "items": [
            {"label": vocab.kinds[k].name_zh, "color": colors[k], "fill": colors[k], "shape": "polygon"} for k in present]})
    legend.append({"title": "区县图层（淡显）", "items": [item for k, kind in vocab.kinds.items() if not kind.zoning and k != "district"
                                                     for item in kind.legend()[:1]]})
    SitesLayer(site_fc, label=len(results) > 1).add_to(m)
    MapLegend(legend).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


class SitesLayer(folium.MacroElement):
    """The sites on the result map: outlines (points as yellow dots), numbered labels when there are several; names go in as
    text (they come from uploads)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        ZoningMap.sitesLayer({{ this._parent.get_name() }}, {{ this.sites|tojson }}, {{ this.label|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, sites: dict, label: bool):
        super().__init__()
        self._name = "SitesLayer"
        self.sites = sites
        self.label = label


class SectionsLayer(folium.MacroElement):
    """Section markers built in the browser from rows passed inline (a district has a handful)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        SectionsMap.sectionsLayer({{ this._parent.get_name() }}, {{ this.rows|tojson }});
        ZoningMap.legendControl({{ this._parent.get_name() }}, {{ this.legend|tojson }});
        ZoningMap.coordsControl({{ this._parent.get_name() }});
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, rows: list[dict], legend: list[dict]):
        super().__init__()
        self._name = "SectionsLayer"
        self.rows = rows
        self.legend = legend


def _boundary_layer(m, vocab, adcode: str):
    """The district boundary, loaded by URL like on the 一张图."""
    cfg = vocab.kinds["district"].to_dict()
    cfg.update({"url": f"/api/districts/{adcode}/layers/district?display=1", "rules": [], "plan_title": "", "attribution": ""})
    RemoteGeoJson(vocab.kinds["district"].name_zh, cfg).add_to(m)


def _monitoring_map(adcode: str, bounds, vocab, basemaps: list[dict], static: str, script: str) -> folium.Map:
    """A station or section map: the base maps, the district boundary, the page's marker script."""
    m = _base_map(bounds, static)
    m.default_js = m.default_js + [(script, f"{static}/js/{script}.js")]
    m.default_css = m.default_css + [("sections_css", f"{static}/css/sections.css")]
    add_base_layers(m, basemaps)
    _boundary_layer(m, vocab, adcode)
    return m


def build_sections_map(adcode: str, rows: list[dict], bounds, class_legend: list[dict], vocab, basemaps: list[dict],
                       static: str = "/static") -> folium.Map:
    m = _monitoring_map(adcode, bounds, vocab, basemaps, static, "sections_map")
    legend = [{"title": "水质类别（GB 3838-2002）", "items": [{"label": c["label"], "color": c["color"], "fill": c["color"], "shape": "circle"}
                                                       for c in class_legend]},
              {"title": "断面级别", "items": [{"label": f"{lvl} {spec['symbol']}", "color": "#333", "fill": "#fff",
                                           "shape": spec["shape"]} for lvl, spec in vocab.levels.items()]}]
    SectionsLayer(rows, legend).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


class AirStationsLayer(folium.MacroElement):
    """Air-station markers built in the browser from rows passed inline (static/js/air_map.js)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        AirMap.stationsLayer({{ this._parent.get_name() }}, {{ this.rows|tojson }}, {{ this.options|tojson }});
        ZoningMap.legendControl({{ this._parent.get_name() }}, {{ this.legend|tojson }});
        ZoningMap.coordsControl({{ this._parent.get_name() }});
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, rows: list[dict], legend: list[dict], options: dict):
        super().__init__()
        self._name = "AirStationsLayer"
        self.rows = rows
        self.legend = legend
        self.options = options


def build_air_map(adcode: str, rows: list[dict], bounds, colour_legend: dict, vocab, options: dict, basemaps: list[dict],
                  static: str = "/static") -> folium.Map:
    """Stations coloured by the day's AQI class or the year's status (colour_legend: {"title", "items"}), shaped
    by level (vocabulary air_station_levels), over the district boundary."""
    m = _monitoring_map(adcode, bounds, vocab, basemaps, static, "air_map")
    present = {r["level"] for r in rows}
    legend = [colour_legend,
              {"title": vocab.kinds["air_station"].attribute("level").label,
               "items": [{"label": f"{lvl} {spec['symbol']}", "color": "#333", "fill": "#fff", "shape": spec["shape"]}
                         for lvl, spec in vocab.air_levels.items() if lvl in present]}]
    AirStationsLayer(rows, legend, options).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def build_conflict_map(adcode: str, conflicts: dict, bounds, vocab, redline_is_demo: bool, basemaps: list[dict],
                       static: str = "/static") -> folium.Map:
    """Conflict areas in solid colour over the faded red line and the district boundary."""
    m = _base_map(bounds, static)
    add_base_layers(m, basemaps)
    legend = []
    for key in ("district", "redline"):
        cfg = vocab.kinds[key].to_dict()
        if key == "redline":
            cfg["style"] = {**cfg["style"], "fillOpacity": 0.15, "opacity": 0.5}
        cfg.update({"url": f"/api/districts/{adcode}/layers/{key}?display=1", "rules": [], "plan_title": "",
                    "attribution": DEMO_ATTRIBUTION if key == "redline" and redline_is_demo else ""})
        RemoteGeoJson(vocab.kinds[key].name_zh, cfg).add_to(m)
        legend.append({"title": vocab.kinds[key].name_zh, "items": cfg["legend"]})
    items = []
    for key, conflict in conflicts.items():
        color = vocab.conflicts.get(key, {}).get("color", "#e31a1c")
        items.append({"label": conflict["label"], "color": color, "fill": color, "shape": "polygon"})
        if conflict.get("geometry") and conflict["area_m2"] > 0:
            feature = {"type": "Feature", "geometry": conflict["geometry"], "properties": {}}
            folium.GeoJson(feature, name=conflict["label"],
                           style_function=lambda f, c=color: {"color": c, "weight": 1.5, "fillColor": c, "fillOpacity": 0.7}).add_to(m)
    legend.append({"title": "冲突区域", "items": items})
    MapLegend(legend).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


class MapLegend(folium.MacroElement):
    _template = Template(
        """{% macro script(this, kwargs) %}
        ZoningMap.legendControl({{ this._parent.get_name() }}, {{ this.legend|tojson }});
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self, legend: list):
        super().__init__()
        self._name = "MapLegend"
        self.legend = legend


def build_import_preview_map(staged, bounds, vocab, basemaps: list[dict], static: str = "/static") -> folium.Map:
    """The uploaded features (simplified for display, no attribute text) over the district boundary."""
    m = _base_map(bounds, static)
    add_base_layers(m, basemaps)
    _boundary_layer(m, vocab, staged.adcode)
    geoms = shapely.simplify([s.geometry for s in staged.sites], 0.00005, preserve_topology=True)
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(g)} for g in geoms]}
    folium.GeoJson(fc, name="待发布图层（预览）", style_function=lambda f: {"color": "#d95f02", "weight": 1.5, "fillOpacity": 0.4},
                   marker=folium.CircleMarker(radius=6, color="#d95f02", fill=True, fill_opacity=0.9)).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
