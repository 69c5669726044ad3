"""The site and its overlap parts for GIS and CAD users: a zipped Shapefile in the site's
Gauss-Krüger 3° zone (with .prj and .cpg; GBK by default, as Chinese desktop GIS expects), KML in
lon/lat for 奥维互动地图 and Google Earth (names and colours of the layer kinds), and DXF in the
same plane coordinates with one CAD layer per kind.

Every feature carries the data status (示意/正式) and layer version it came from. Attribute values
come from uploaded data: KML is built with an XML library (values escaped), Shapefile and DXF by GDAL.
"""
from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import geopandas as gpd
import pyogrio
import shapely

from geo.crs import GEO_EPSG, gk3_epsg, gk3_zone

SHAPE_ENCODINGS = {"gbk": "GBK", "utf-8": "UTF-8"}
SITE_LAYER = "SITE"  # the CAD layer of the site outline; overlap layers are <KIND>_OVERLAP
SITE_COLOR = "#000000"


def plane_epsg(results: list[dict]) -> int:
    """The zone the result was measured in (its plane areas): the first site's, else its centroid's."""
    epsg = results[0]["site"].get("plane_epsg") if results else None
    if epsg:
        return int(epsg)
    c = results[0]["_site_geometry"].centroid
    return gk3_epsg(gk3_zone(c.x))


def features(results: list[dict], vocab) -> gpd.GeoDataFrame:
    """One row per site and per overlap part (site ∩ zone), lon/lat CGCS2000, short DBF-safe field names."""
    rows, geoms = [], []
    project = (results[0].get("project") or {}) if results else {}
    carried = {"proj_name": project.get("name", ""), "proj_code": project.get("code", "")}  # 项目名称、项目编号 on every feature
    for n, result in enumerate(results, 1):
        site = result["site"]
        name = site.get("name") or f"项目{n}"
        rows.append({**carried, "part": "项目范围", "site": name, "kind": "site", "layer": "项目范围", "feat_id": "", "feat_name": name,
                     "relation": "", "ovl_m2": None, "ovl_pl_m2": None, "pct_site": None, "len_in_m": None, "status": "", "version": ""})
        geoms.append(result["_site_geometry"])
        versions = result["method"]["data"]["layer_versions"]
        for layer in result["layers"]:
            for hit in layer["hits"]:
                geom = hit.get("_overlap_geometry")
                if geom is None or geom.is_empty or site.get("site_type") == "point":
                    continue
                adcode = str(hit["attributes"].get("adcode", ""))
                rows.append({**carried, "part": "重叠部分", "site": name, "kind": layer["kind"], "layer": vocab.kinds[layer["kind"]].name_zh,
                             "feat_id": hit["id"], "feat_name": hit["name"], "relation": vocab.relations[hit["relation"]]["label"],
                             "ovl_m2": hit.get("overlap_m2"), "ovl_pl_m2": hit.get("overlap_plane_m2"), "pct_site": hit.get("overlap_pct_of_site"),
                             "len_in_m": hit.get("length_inside_m"), "status": "示意数据" if hit.get("is_demo") else "正式数据",
                             "version": versions.get(f"{adcode}/{layer['kind']}", "")})
                geoms.append(geom)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=GEO_EPSG)


def _by_dimension(frame: gpd.GeoDataFrame):
    """Shapefiles hold one geometry type each: points, lines and polygons apart."""
    dims = shapely.get_dimensions(frame.geometry.values)
    for dim, word in ((2, "polygon"), (1, "line"), (0, "point")):
        part = frame[dims == dim]
        if len(part):
            yield word, part


def shapefile_zip(results: list[dict], vocab, encoding: str = "gbk") -> bytes:
    """site_<type>.shp and overlap_<type>.shp in the site's Gauss-Krüger zone, zipped with .prj and .cpg."""
    frame = features(results, vocab).to_crs(plane_epsg(results))
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="zoning-shp-") as tmp, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, stem in (("项目范围", "site"), ("重叠部分", "overlap")):
            for word, chunk in _by_dimension(frame[frame["part"] == part]):
                path = Path(tmp) / f"{stem}_{word}.shp"
                pyogrio.write_dataframe(chunk.drop(columns=["part"]), path, driver="ESRI Shapefile", encoding=SHAPE_ENCODINGS[encoding])
        for path in sorted(Path(tmp).iterdir()):
            zf.write(path, path.name)
    return buf.getvalue()


def dxf(results: list[dict], vocab) -> bytes:
    """Plane coordinates (X east, Y north as CAD draws them) in the site's zone; one layer per kind, ASCII layer names."""
    frame = features(results, vocab).to_crs(plane_epsg(results))
    layers = [SITE_LAYER if k == "site" else f"{k.upper()}_OVERLAP" for k in frame["kind"]]
    out = gpd.GeoDataFrame({"Layer": layers}, geometry=frame.geometry.values, crs=frame.crs)
    with tempfile.TemporaryDirectory(prefix="zoning-dxf-") as tmp:
        path = Path(tmp) / "screening.dxf"
        pyogrio.write_dataframe(out, path, driver="DXF")
        return path.read_bytes()


def _kml_color(hex_color: str, alpha: int) -> str:
    """KML colours are aabbggrr."""
    h = hex_color.lstrip("#")
    return f"{alpha:02x}{h[4:6]}{h[2:4]}{h[0:2]}"


def _coords(ring) -> str:
    return " ".join(f"{x:.8f},{y:.8f}" for x, y in shapely.get_coordinates(ring))


def _kml_geometry(parent, geom) -> None:
    if geom.geom_type in ("MultiPolygon", "MultiLineString", "MultiPoint", "GeometryCollection"):
        multi = ET.SubElement(parent, "MultiGeometry")
        for g in shapely.get_parts(geom):
            _kml_geometry(multi, g)
    elif geom.geom_type == "Polygon":
        poly = ET.SubElement(parent, "Polygon")
        ET.SubElement(ET.SubElement(ET.SubElement(poly, "outerBoundaryIs"), "LinearRing"), "coordinates").text = _coords(geom.exterior)
        for hole in geom.interiors:
            ET.SubElement(ET.SubElement(ET.SubElement(poly, "innerBoundaryIs"), "LinearRing"), "coordinates").text = _coords(hole)
    elif geom.geom_type == "LineString":
        ET.SubElement(ET.SubElement(parent, "LineString"), "coordinates").text = _coords(geom)
    elif geom.geom_type == "Point":
        ET.SubElement(ET.SubElement(parent, "Point"), "coordinates").text = _coords(geom)


def kml(results: list[dict], vocab) -> bytes:
    """Lon/lat (CGCS2000; within centimetres of WGS84, as 奥维 and Google Earth read it), one folder per layer kind."""
    frame = features(results, vocab)
    root = ET.Element("kml", xmlns="http://www.opengis.net/kml/2.2")
    doc = ET.SubElement(root, "Document")
    project = (results[0].get("project") or {}) if results else {}
    ET.SubElement(doc, "name").text = f"{project['name']}：项目范围与重叠部分" if project.get("name") else "选址合规初筛：项目范围与重叠部分"
    demo = any(layer["is_demo"] for r in results for layer in r["layers"])
    about = "；".join(f"{spec['label']}：{project[key]}" for key, spec in vocab.project_fields.items() if project.get(key))
    ET.SubElement(doc, "description").text = (
        (about + "。" if about else "") + f"数据状态：{vocab.statuses['data']['demo' if demo else 'official']['label']}"
        f"（数据版本 {results[0]['method']['data']['version'] if results else ''}）。坐标：CGCS2000 经纬度（与 WGS84 相差厘米级）。"
        "示意数据的重叠部分仅供演示，以主管部门审定数据为准。")
    colours = {"site": SITE_COLOR, **{k: kind.overlap_color for k, kind in vocab.kinds.items()}}
    for key, colour in colours.items():
        style = ET.SubElement(doc, "Style", id=f"s-{key}")
        line = ET.SubElement(style, "LineStyle")
        ET.SubElement(line, "color").text = _kml_color(colour, 0xff)
        ET.SubElement(line, "width").text = "2.5" if key == "site" else "1.5"
        poly = ET.SubElement(style, "PolyStyle")
        ET.SubElement(poly, "color").text = _kml_color(colour, 0x00 if key == "site" else 0x99)
    for kind in dict.fromkeys(frame["kind"]):
        part = frame[frame["kind"] == kind]
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = str(part["layer"].iloc[0]) + ("" if kind == "site" else "（重叠部分）")
        for row, geom in zip(part.itertuples(index=False), part.geometry.values):
            mark = ET.SubElement(folder, "Placemark")
            ET.SubElement(mark, "name").text = str(row.feat_name if kind != "site" else row.site)
            ET.SubElement(mark, "styleUrl").text = f"#s-{kind}"
            data = ET.SubElement(mark, "ExtendedData")
            for field, label in (("site", "项目"), ("layer", "图层"), ("feat_id", "要素编号"), ("relation", "关系"), ("ovl_m2", "重叠面积（m²，椭球）"),
                                 ("pct_site", "占项目（%）"), ("len_in_m", "线路在其内长度（m）"), ("status", "数据状态"), ("version", "图层版本")):
                value = getattr(row, field)
                if value is None or value == "" or value != value:
                    continue
                item = ET.SubElement(data, "Data", name=label)
                ET.SubElement(item, "value").text = str(value)
            _kml_geometry(mark, geom)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
