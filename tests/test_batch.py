"""Batch screening on a local Dask cluster of 2 worker processes (`flask screen-batch`).

Every output row is compared with the single-site engine on the same site (the API's answer),
a polygon's overlap also with pyproj alone; malformed rows, sites outside the loaded data, a
worker killed mid-run and a batch that cannot finish are each checked.
"""
import json
import os
import signal
import threading
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from conftest import create_app
from geo.screening import DEFAULT_BANDS_M
from services.batch import BatchCluster, run_batch
from services.context import Actor

GEOD = Geod(ellps="GRS80")
CGCS = {"as_read": "CGCS2000 (EPSG:4490)", "assumed": None, "conversions": []}


def mixed_sites(n_points=2000, n_lines=250, n_polygons=250, seed=7) -> gpd.GeoDataFrame:
    """Points, lines and polygons over 大足 and its neighbours, some beyond the loaded districts."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(105.45, 106.05, n_points)
    lat = rng.uniform(29.35, 29.95, n_points)
    geoms = list(shapely.points(lon, lat))
    for _ in range(n_lines):
        x, y = rng.uniform(105.5, 106.0), rng.uniform(29.4, 29.9)
        geoms.append(shapely.LineString(np.column_stack([x + np.cumsum(rng.normal(0, 0.01, 4)), y + np.cumsum(rng.normal(0, 0.01, 4))])))
    for _ in range(n_polygons):
        x, y = rng.uniform(105.5, 106.0), rng.uniform(29.4, 29.9)
        geoms.append(shapely.Point(x, y).buffer(rng.uniform(0.002, 0.02), quad_segs=8))
    geoms.append(shapely.box(105.68, 29.66, 105.80, 29.76))  # a large polygon over several red-line patches
    geoms.append(shapely.Point(104.06, 30.66))  # 成都: no layer data loaded there
    names = [f"站点{i + 1}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=4490)


def same(value, expected) -> bool:
    """A table cell against the API's figure: both absent, or equal."""
    if expected is None:
        return value is None or pd.isna(value)
    return value == pytest.approx(expected, rel=1e-9)


@pytest.fixture(scope="module")
def cluster():
    c = BatchCluster(None, 2)
    yield c
    c.close()


@pytest.fixture(scope="module")
def batch_app(tmp_path_factory):
    inst = tmp_path_factory.mktemp("batch")
    return create_app({"INSTANCE_DIR": str(inst), "MEASUREMENTS_DB": str(inst / "m.sqlite")})


def test_every_row_equals_the_single_site_engine(batch_app, cluster, tmp_path):
    sites = mixed_sites()
    src = tmp_path / "sites.parquet"
    sites.to_parquet(src)
    out = tmp_path / "result.parquet"
    ctx = batch_app.extensions["services"]
    seen = []
    summary = run_batch(ctx, Actor.cli("batch-test"), src, out, per_partition=300, cluster=cluster,
                        progress=lambda done, total: seen.append((done, total)))
    assert summary["sites"] == len(sites) and summary["errors"] == 0 and summary["partitions"] == -(-len(sites) // 300)
    assert seen[-1] == (len(sites), len(sites)) and len(seen) == summary["partitions"]
    table = gpd.read_parquet(out)
    assert list(table["row"]) == list(range(1, len(sites) + 1)) and table.crs.to_epsg() == 4490
    assert shapely.equals(table.geometry.values, sites.geometry.values).all()
    service = ctx.live.get().screening
    for i, geom in enumerate(sites.geometry):
        api = service.screen(geom, CGCS, DEFAULT_BANDS_M)
        row = table.iloc[i]
        assert row["level"] == api["verdict"]["level"], i
        assert row["site_type"] == api["site"]["site_type"]
        for layer in api["layers"]:
            k = layer["kind"]
            for field, api_field in (("overlap_m2", "total_overlap_m2"), ("overlap_pct", "total_overlap_pct_of_site"),
                                     ("length_inside_m", "total_length_inside_m")):
                assert same(row[f"{k}_{field}"], layer[api_field]), (i, k, field)
            nearest = layer["hits"][0] if layer["hits"] else None
            assert (row[f"{k}_nearest_id"] if not pd.isna(row[f"{k}_nearest_id"]) else None) == (nearest["id"] if nearest else None)
            if nearest:
                assert row[f"{k}_distance_m"] == nearest["distance_m"]
            assert (row[f"{k}_coverage"] == "完整") == layer["coverage"]["complete"]
        named = {d["adcode"] for d in api["site"]["districts"]} | {
            h["attributes"]["adcode"] for layer in api["layers"] for h in
            ([h for h in layer["hits"] if h["relation"] in ("within", "intersects")] or layer["hits"][:1])}
        assert json.loads(row["layer_versions"]) == {key: v for key, v in api["method"]["data"]["layer_versions"].items()
                                                     if key.split("/")[0] in named}
    levels = set(table["level"])
    assert {"涉及", "临近", "无法判定"} <= levels  # the sample reaches every kind of answer
    assert table.iloc[-1]["level"] == "无法判定"  # 成都: outside the loaded data, as the API says
    # the large box: its red-line overlap from pyproj alone, against the dissolved 大足 red line
    box = sites.geometry.iloc[-2]
    redline = ctx.live.get().store.read("redline", "500111").geometry.union_all()
    expected = abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(box.intersection(redline)))[0])
    assert table.iloc[-2]["redline_overlap_m2"] == pytest.approx(expected, rel=1e-3)
    assert any("批量初筛（Dask）" in e["summary"] for e in ctx.audit.entries())


def test_rows_equal_the_http_api_for_a_sample(batch_app, cluster, tmp_path):
    sites = mixed_sites(40, 10, 10, seed=11)
    src = tmp_path / "sites.fgb"
    sites.to_file(src, driver="FlatGeobuf")
    sites = gpd.read_file(src)  # FlatGeobuf stores features in its spatial index's order: rows number them as stored
    out = tmp_path / "result.csv"
    run_batch(batch_app.extensions["services"], Actor.cli(), src, out, per_partition=7, cluster=cluster)
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"redline_nearest_id": str})
    client = batch_app.test_client()
    for i, geom in enumerate(sites.geometry):
        body = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(geom), "crs": "EPSG:4490"}).get_json()
        assert table.iloc[i]["level"] == body["verdict"]["level"], i
        red = next(layer for layer in body["layers"] if layer["kind"] == "redline")
        if red["total_overlap_m2"]:
            assert table.iloc[i]["redline_overlap_m2"] == pytest.approx(red["total_overlap_m2"], rel=1e-9)


def test_malformed_rows_are_reported_not_fatal(batch_app, cluster, tmp_path):
    src = tmp_path / "points.csv"
    src.write_text("名称,经度,纬度\n甲,105.72,29.70\n乙,abc,29.70\n丙,,\n丁,105.75,29.71\n", encoding="gb18030")
    out = tmp_path / "out.csv"
    summary = run_batch(batch_app.extensions["services"], Actor.cli(), src, out, cluster=cluster)
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert list(table["name"]) == ["甲", "乙", "丙", "丁"] and summary["errors"] == 2
    assert table["error"].isna().tolist() == [True, False, False, True]
    assert "没有几何" in table.loc[1, "error"]
    gpkg = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame({"name": ["自相交"]}, geometry=[shapely.Polygon([(105.70, 29.70), (105.72, 29.72), (105.72, 29.70), (105.70, 29.72)])],
                     crs=4490).to_file(gpkg)
    run_batch(batch_app.extensions["services"], Actor.cli(), gpkg, tmp_path / "bowtie.csv", cluster=cluster)
    bowtie = pd.read_csv(tmp_path / "bowtie.csv")
    assert bowtie["error"].isna().all() and "make_valid" in bowtie["notes"].iloc[0]  # repaired as the API repairs it, and said


def test_a_killed_worker_does_not_lose_sites(batch_app, tmp_path):
    sites = mixed_sites(1500, 0, 0, seed=3)
    src = tmp_path / "sites.parquet"
    sites.to_parquet(src)
    out = tmp_path / "result.parquet"
    own = BatchCluster(None, 2)
    try:
        pids = list(own.client.run(os.getpid).values())
        started = threading.Event()

        def kill_one():
            started.wait(60)
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one)
        killer.start()
        summary = run_batch(batch_app.extensions["services"], Actor.cli(), src, out, per_partition=50, cluster=own,
                            progress=lambda done, total: started.set())
        killer.join()
    finally:
        own.close()
    table = gpd.read_parquet(out)
    assert summary["sites"] == len(sites) == len(table) and list(table["row"]) == list(range(1, len(sites) + 1))
    assert table["error"].isna().all()


def test_a_batch_that_cannot_finish_writes_nothing(tmp_path, cluster):
    app = create_app({"INSTANCE_DIR": str(tmp_path), "MEASUREMENTS_DB": str(tmp_path / "m.sqlite")})
    ctx = app.extensions["services"]
    ctx.config = {**ctx.config, "LAYERS_GPKG": str(tmp_path / "missing.gpkg")}  # the workers cannot load the layers
    src = tmp_path / "sites.parquet"
    mixed_sites(20, 0, 0).to_parquet(src)
    out = tmp_path / "out.parquet"
    from geo.errors import DataError

    with pytest.raises(DataError, match="未完成"):
        run_batch(ctx, Actor.cli(), src, out, cluster=cluster)
    assert not out.exists() and not list(tmp_path.glob(".out.parquet*"))


def test_cli_screen_batch_on_an_existing_scheduler(batch_app, cluster, tmp_path):
    """--scheduler: a cluster that is already running (here the module's local one, by its address)."""
    src = tmp_path / "sites.csv"
    src.write_text("name,lon,lat\nA,105.72,29.70\nB,105.90,29.50\nC,abc,1\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    result = batch_app.test_cli_runner().invoke(args=["screen-batch", str(src), "--out", str(out),
                                                      "--scheduler", cluster.cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    assert "3 个站点" in result.output and "1 个站点出错" in result.output
    assert len(gpd.read_parquet(out)) == 3
    unreachable = batch_app.test_cli_runner().invoke(args=["screen-batch", str(src), "--out", str(tmp_path / "x.csv"),
                                                           "--scheduler", "tcp://127.0.0.1:9"])
    assert unreachable.exit_code == 1 and "Dask" in unreachable.output and not (tmp_path / "x.csv").exists()


def test_cli_screen_batch(batch_app, tmp_path):
    src = tmp_path / "sites.csv"
    src.write_text("name,lon,lat\nA,105.72,29.70\nB,105.90,29.50\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    started = time.time()
    result = batch_app.test_cli_runner().invoke(args=["screen-batch", str(src), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "2 个站点" in result.output and out.exists() and time.time() - started < 300
    bad = batch_app.test_cli_runner().invoke(args=["screen-batch", str(src), "--out", str(tmp_path / "out.xlsx")])
    assert bad.exit_code == 1 and ".parquet" in bad.output


def test_in_process_rows_equal_the_cluster_rows(batch_app, cluster, tmp_path):
    """A server job screens a batch without a cluster: the same rows, column by column."""
    from services.batch import screen_in_process

    sites = mixed_sites(300, 40, 40, seed=5)
    src = tmp_path / "sites.parquet"
    sites.to_parquet(src)
    ctx = batch_app.extensions["services"]
    run_batch(ctx, Actor.cli(), src, tmp_path / "out.parquet", per_partition=60, cluster=cluster)
    on_cluster = pd.DataFrame(gpd.read_parquet(tmp_path / "out.parquet").drop(columns="geometry"))
    steps = []
    here, summary = screen_in_process(ctx, Actor.cli(), src, per_partition=60, progress=lambda d, t: steps.append(d))
    assert steps[-1] == len(sites) and summary["sites"] == len(sites)
    def plain(df):  # missing as None in every column, whatever dtype the file gave it
        return df.astype(object).where(df.notna(), None).reset_index(drop=True)

    pd.testing.assert_frame_equal(plain(here), plain(on_cluster), check_dtype=False)
