"""Layer storage behind one small interface (a PostGIS store can implement the same three methods).

The GeoPackage store reads every layer once at start-up through pyogrio, validates it
against the vocabulary, and keeps the frames in memory: the shipped data are small, and
per-request disk reads would put I/O on the hot path.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import pyogrio
import numpy as np
import shapely
import shapely.geometry

from geo.area import M2_PER_HA, M2_PER_KM2, area_m2
from geo.crs import GEO_EPSG
from geo.errors import ConfigError
from geo.vocabulary import LayerKind, Vocabulary

# Display copies: ~5 m tolerance and 6 decimals (≈0.1 m) keep pages small; analysis uses full precision.
DISPLAY_TOLERANCE_DEG = 0.00005
DISPLAY_DECIMALS = 6


class LayerStore(Protocol):
    def adcodes(self) -> list[str]: ...

    def read(self, kind: str, adcode: str) -> gpd.GeoDataFrame: ...

    def read_all(self, kind: str) -> gpd.GeoDataFrame: ...

    def info(self) -> dict: ...


class FrameStore:
    """Reads over in-memory frames, one GeoDataFrame per kind holding every district."""

    _frames: dict[str, gpd.GeoDataFrame]

    def adcodes(self) -> list[str]:
        return sorted(self._frames["district"]["adcode"].unique())

    def read(self, kind: str, adcode: str) -> gpd.GeoDataFrame:
        gdf = self._frames[kind]
        return gdf[gdf["adcode"] == adcode]

    def read_all(self, kind: str) -> gpd.GeoDataFrame:
        return self._frames[kind]


class GeoPackageStore(FrameStore):
    def __init__(self, path: Path, vocab: Vocabulary):
        self.path = Path(path)
        self.vocab = vocab
        if not self.path.exists():
            raise ConfigError(self.path, "(文件)", "图层数据文件不存在 / layer file not found; run data/build_demo.py or configure LAYERS_GPKG")
        self.version = hashlib.sha256(self.path.read_bytes()).hexdigest()[:12]
        available = {name for name, _ in pyogrio.list_layers(self.path)}
        self._frames: dict[str, gpd.GeoDataFrame] = {}
        for key, kind in vocab.kinds.items():
            if key not in available:
                raise ConfigError(self.path, key, f"缺少图层 / missing layer '{key}'")
            self._frames[key] = self.load_layer(self.path, kind)

    @staticmethod
    def load_layer(path: Path, kind: LayerKind) -> gpd.GeoDataFrame:
        """One kind's layer from a GeoPackage, validated against the vocabulary (file and field named on failure)."""
        return validated_layer(pyogrio.read_dataframe(path, layer=kind.key), kind, path)

    def info(self) -> dict:
        return {"path": str(self.path), "version": self.version, "store": "geopackage"}


def layer_content(store: LayerStore, adcode: str, kind: str, h) -> None:
    """Feed hasher h with a district's layer by content (geometry and attributes) and by version (which says demo
    or not): version numbers alone could repeat after a store is rebuilt. What is derived from a layer and kept on
    disk (shares, vector tiles) is named by this."""
    version = getattr(store, "layer_version", None)
    frame = store.read(kind, adcode)
    h.update(f"{kind}|{version(adcode, kind) if version else store.info()['version']}|{len(frame)}|".encode())
    h.update(b"".join(shapely.to_wkb(frame.geometry.values)))
    h.update(frame.drop(columns=frame.geometry.name).to_json(orient="split", default_handler=str).encode())


def promoted_to_multi(geoms):
    """Polygons and MultiPolygons (or lines, points) mixed in one layer all become Multi*, as a GeoPackage stores
    them: a version reads back the same from every store."""
    types = set(shapely.get_type_id(geoms).tolist())
    mixed = [(single, multi) for single, multi in ((0, 4), (1, 5), (3, 6)) if single in types and multi in types]
    if not mixed:
        return geoms
    out = np.array(geoms, dtype=object)
    for single, multi in mixed:
        pick = shapely.get_type_id(out) == single
        parts = out[pick]
        out[pick] = [shapely.multipoints([g]) if multi == 4 else shapely.multilinestrings([g]) if multi == 5 else shapely.multipolygons([g])
                     for g in parts]
    return out


def validated_layer(gdf: gpd.GeoDataFrame, kind: LayerKind, path) -> gpd.GeoDataFrame:
    """A layer frame checked against the vocabulary (where it came from and the field named on failure), with areas."""
    where = f"{kind.key}"
    if gdf.crs is None or gdf.crs.to_epsg() not in (GEO_EPSG, 4326):
        raise ConfigError(path, f"{where}.crs", f"坐标系须为 EPSG:4490（CGCS2000）/ CRS must be EPSG:4490, got {gdf.crs}")
    missing = [a for a in kind.required_attributes if a not in gdf.columns]
    if missing:
        raise ConfigError(path, f"{where}.{missing[0]}", f"缺少必需字段 / required attribute missing: {missing}")
    bad_types = sorted(set(gdf.geom_type.dropna()) - set(kind.geometry_types))
    if bad_types or gdf.geometry.isna().any():
        raise ConfigError(path, f"{where}.geometry", f"几何类型须为 {kind.geometry_types} / wrong geometry types {bad_types or ['空几何']}")
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        raise ConfigError(path, f"{where}.geometry", f"{int(invalid.sum())} 个无效几何，例如 {gdf.loc[invalid, 'feature_id'].iloc[0]} / invalid geometries")
    gdf["adcode"] = gdf["adcode"].astype(str)
    if not kind.is_point:
        gdf["area_m2"] = [area_m2(g) for g in gdf.geometry]
    return gdf.set_crs(GEO_EPSG, allow_override=True)


def to_feature_collection(gdf: gpd.GeoDataFrame, kind: LayerKind, display: bool = False) -> dict:
    """GeoJSON in lon/lat (x = longitude), with ellipsoidal areas in km² and 公顷 on polygons."""
    geoms = gdf.geometry.values
    if display and not kind.is_point:
        geoms = shapely.simplify(geoms, DISPLAY_TOLERANCE_DEG, preserve_topology=True)
    if display:
        geoms = shapely.transform(geoms, lambda xy: xy.round(DISPLAY_DECIMALS))
    features = [{"type": "Feature", "id": props["feature_id"], "properties": props, "geometry": shapely.geometry.mapping(geom)}
                for props, geom in zip(feature_properties(gdf, kind), geoms)]
    return {"type": "FeatureCollection", "features": features}


def feature_properties(gdf: gpd.GeoDataFrame, kind: LayerKind) -> list[dict]:
    """Each feature's attributes as plain JSON values, with its ellipsoidal area in m², km² and 公顷 on polygons."""
    props_cols = [c for c in gdf.columns if c not in (gdf.geometry.name, "area_m2")]
    out = []
    for _, row in gdf.iterrows():
        props = {c: _plain(row[c]) for c in props_cols}
        props["kind"] = kind.key
        props["is_demo"] = bool(props.get("is_demo"))
        if "area_m2" in gdf.columns:
            props["area_m2"] = round(float(row["area_m2"]), 1)
            props["area_km2"] = round(float(row["area_m2"]) / M2_PER_KM2, 4)
            props["area_ha"] = round(float(row["area_m2"]) / M2_PER_HA, 2)
        out.append(props)
    return out


def _plain(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
