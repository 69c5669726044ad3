"""`flask layers publish --from-postgis`: a PostGIS table or query published through the same import as a file.

Needs a PostgreSQL + PostGIS server: ZONING_TEST_POSTGRES_URL=postgresql://… or the PostgreSQL backend's
ZONING_DATABASE_URL (the conftest fixture postgres_url; skipped without either; .ci/run gives it in both runs). Each test loads the
sample official red line (tests/data/official_redline_dazu_gk35_gbk.zip: GBK attributes, Gauss-Krüger zone 35,
EPSG:4523, one self-intersecting polygon) into its own schema with psycopg, and drops the schema afterwards.
Expectations are computed here: the source polygons read with geopandas, repaired with shapely.make_valid,
reprojected with pyproj and measured with pyproj.Geod (tests/conftest.py helpers), not with the service's code.
"""
import json
import os
import uuid
from pathlib import Path

import pyogrio
import pytest
import shapely
from conftest import GK35, geodesic_m2, to_ll

ROOT = Path(__file__).resolve().parent.parent
OFFICIAL = ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip"
TABLE = "redline_src"

psycopg = pytest.importorskip("psycopg")


@pytest.fixture()
def schema(postgres_url):
    """A throw-away schema holding the sample red line as table redline_src (dropped afterwards)."""
    name = f"test_pgsrc_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        load_sample(postgres_url, name, TABLE)
        yield name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def sample():
    """The sample shapefile as the file has it: GBK attributes BHMC (name) and GNLX (function), EPSG:4523 geometries."""
    frame = pyogrio.read_dataframe(f"/vsizip/{OFFICIAL}", encoding="GBK")
    assert frame.crs.to_epsg() == GK35 and len(frame) == 2 and not frame.geometry.is_valid.all()
    return frame


def load_sample(url, schema_name, table, srids=None, typed=True):
    """The shapefile's rows into PostGIS with its attributes, plus columns with Chinese names and numeric/date types."""
    frame = sample()
    geom_type = f"geometry(Polygon, {GK35})" if typed else "geometry"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema_name}"."{table}" (id serial PRIMARY KEY, "BHMC" text, "GNLX" text, '
                     f'"面积_公顷" numeric(12, 4), "编号" numeric(10, 0), "批准日期" date, "备注" text, geom {geom_type})')
        for i, row in enumerate(frame.itertuples()):
            srid = (srids or [GK35] * len(frame))[i]
            geom = "ST_GeomFromWKB(%s, 4523)" if srid == GK35 else f"ST_Transform(ST_GeomFromWKB(%s, 4523), {int(srid)})"
            conn.execute(f'INSERT INTO "{schema_name}"."{table}" ("BHMC", "GNLX", "面积_公顷", "编号", "批准日期", "备注", geom) '
                         f"VALUES (%s, %s, %s, %s, %s, %s, {geom})",
                         (row.BHMC, row.GNLX, f"{row.geometry.area / 1e4:.4f}", 500111001 + i, f"2023-0{i + 1}-15", None,
                          shapely.to_wkb(row.geometry)))


def expected_m2(frame) -> float:
    """Dissolved ellipsoidal area of the source polygons: make_valid, plane edges densified to 5 m, pyproj, Geod."""
    union = shapely.union_all([shapely.make_valid(g) for g in frame.geometry.values])
    return geodesic_m2(to_ll(shapely.segmentize(union, 5.0)))


def publish(app, *args):
    return app.test_cli_runner().invoke(args=["layers", "publish", *args, "--district", "500111", "--kind", "redline",
                                              "--yes", "--confirm-change"])


def published_layer(app):
    resp = app.test_client().get("/api/districts/500111/layers/redline")
    assert resp.status_code == 200
    return json.loads(resp.get_data(as_text=True))


def assert_nothing_published(app):
    services = app.extensions["services"]
    assert services.repository.history() == []
    assert published_layer(app)["features"][0]["properties"]["is_demo"]  # still the demo red line


def test_a_table_is_published_like_the_file(make_app, postgres_url, schema):
    frame = sample()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(f'SELECT count(*) FROM "{schema}"."{TABLE}"').fetchone()[0]
    app = make_app()
    result = publish(app, "--from-postgis", f"{schema}.{TABLE}", "--source-url", postgres_url)
    assert result.exit_code == 0, result.output
    assert "EPSG:4523" in result.output and "已发布 v0001" in result.output and "修复 1 个" in result.output

    (entry,) = app.extensions["services"].repository.history()
    assert entry["feature_count"] == rows == len(frame)
    assert entry["source_name"] == f"postgis_{schema}.{TABLE}.gpkg"
    want = expected_m2(frame)
    assert entry["dissolved_m2"] == pytest.approx(want, rel=1e-4)

    fc = published_layer(app)
    features = [f for f in fc["features"] if f["properties"]["adcode"] == "500111"]
    assert len(features) == rows
    assert sorted(f["properties"]["name"] for f in features) == sorted(frame["BHMC"])
    assert sorted(f["properties"]["function"] for f in features) == sorted(frame["GNLX"])
    assert not any(f["properties"]["is_demo"] for f in features)
    union = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in features])
    assert geodesic_m2(union) == pytest.approx(want, rel=1e-4)

    stage = next(e for e in app.extensions["services"].audit.entries() if e["action"] == "stage")
    assert f"postgis_{schema}.{TABLE}.gpkg" in stage["summary"]


def test_a_query_publishes_the_rows_it_selects(make_app, postgres_url, schema):
    frame = sample()
    chosen = frame[frame["GNLX"] == "水源涵养"]
    assert len(chosen) == 1
    app = make_app()
    query = f'SELECT "BHMC", "GNLX", "编号", geom FROM "{schema}"."{TABLE}" WHERE "GNLX" = \'水源涵养\';'
    result = publish(app, "--from-postgis", query, "--source-url", postgres_url)
    assert result.exit_code == 0, result.output
    (entry,) = app.extensions["services"].repository.history()
    assert entry["feature_count"] == 1 and entry["source_name"].startswith("postgis_query_")
    assert entry["dissolved_m2"] == pytest.approx(expected_m2(chosen), rel=1e-4)
    (feature,) = [f for f in published_layer(app)["features"] if f["properties"]["adcode"] == "500111"]
    assert feature["properties"]["name"] == chosen["BHMC"].iloc[0]


@pytest.mark.parametrize("where", ["setting", "environment"])
def test_the_source_url_defaults_to_the_database_setting(make_app, postgres_url, schema, monkeypatch, where):
    """Without --source-url: the DATABASE_URL setting, else ZONING_DATABASE_URL. Set on the built app (its own state
    stays where it is: no schema of the application is created in the test database)."""
    app = make_app()
    config = app.extensions["services"].config
    monkeypatch.setitem(config, "DATABASE_URL", postgres_url if where == "setting" else None)
    if where == "environment":
        monkeypatch.setenv("ZONING_DATABASE_URL", postgres_url)
    result = publish(app, "--from-postgis", f"{schema}.{TABLE}")
    assert result.exit_code == 0, result.output
    assert len(app.extensions["services"].repository.history()) == 1


def test_attributes_arrive_as_plain_values(postgres_url, schema):
    """numeric → int or float, date → ISO text, NULL → missing; Chinese column names kept."""
    from layers.postgis_source import read_postgis_source

    name, data = read_postgis_source(postgres_url, f"{schema}.{TABLE}")
    assert name == f"postgis_{schema}.{TABLE}.gpkg" and data.startswith(b"SQLite format 3\x00")
    assert read_postgis_source(postgres_url, f"{schema}.{TABLE}")[1] == data  # the same rows give the same bytes
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{schema}.gpkg"
    try:
        path.write_bytes(data)
        got = pyogrio.read_dataframe(path)
    finally:
        path.unlink(missing_ok=True)
    assert got.crs.to_epsg() == GK35 and len(got) == 2
    assert list(got["编号"]) == [500111001, 500111002]
    assert list(got["批准日期"]) == ["2023-01-15", "2023-02-15"]
    assert got["面积_公顷"].dtype.kind == "f" and got["备注"].isna().all()


def test_srid_0_needs_the_crs(make_app, postgres_url, schema):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".nosrid AS SELECT "BHMC", "GNLX", ST_SetSRID(geom, 0)::geometry AS geom FROM "{schema}"."{TABLE}"')
    app = make_app()
    refused = publish(app, "--from-postgis", f"{schema}.nosrid", "--source-url", postgres_url)
    assert refused.exit_code != 0 and "SRID 0" in refused.output and "--crs" in refused.output
    assert_nothing_published(app)
    result = publish(app, "--from-postgis", f"{schema}.nosrid", "--source-url", postgres_url, "--crs", "EPSG:4523")
    assert result.exit_code == 0, result.output
    (entry,) = app.extensions["services"].repository.history()
    assert entry["dissolved_m2"] == pytest.approx(expected_m2(sample()), rel=1e-4)


def test_a_missing_table_is_refused(make_app, postgres_url, schema):
    app = make_app()
    result = publish(app, "--from-postgis", f"{schema}.no_such_table", "--source-url", postgres_url)
    assert result.exit_code != 0
    assert "PostGIS 中没有表" in result.output and "no_such_table" in result.output
    assert_nothing_published(app)
    assert app.extensions["services"].audit.entries() == []  # refused before anything was staged


def test_mixed_srids_are_refused(make_app, postgres_url, schema):
    load_sample(postgres_url, schema, "mixed", srids=[GK35, 4490], typed=False)
    app = make_app()
    result = publish(app, "--from-postgis", f"{schema}.mixed", "--source-url", postgres_url)
    assert result.exit_code != 0
    assert "坐标系不一致" in result.output and "4490、4523" in result.output and f"{schema}.mixed" in result.output
    assert_nothing_published(app)


def test_a_table_without_geometry_is_refused(make_app, postgres_url, schema):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".plain AS SELECT "BHMC", "GNLX" FROM "{schema}"."{TABLE}"')
    app = make_app()
    result = publish(app, "--from-postgis", f"{schema}.plain", "--source-url", postgres_url)
    assert result.exit_code != 0 and "没有几何列" in result.output
    assert_nothing_published(app)


@pytest.mark.parametrize("query, said", [
    ("SELECT geom, FROM nowhere", "查询无法执行"),
    ('SELECT "BHMC" FROM "{schema}".redline_src', "查询结果中没有几何列"),
    # writing is impossible: the query runs as a sub-select of a READ ONLY transaction
    ('SELECT *, nextval(\'"{schema}".redline_src_id_seq\') FROM "{schema}".redline_src', "查询须为只读"),
    ('WITH gone AS (DELETE FROM "{schema}".redline_src RETURNING *) SELECT * FROM gone', "查询无法执行"),
    ('SELECT * FROM "{schema}".redline_src; DELETE FROM "{schema}".redline_src', "查询无法执行"),
])
def test_bad_or_writing_queries_are_refused(make_app, postgres_url, schema, query, said):
    app = make_app()
    result = publish(app, "--from-postgis", query.format(schema=schema), "--source-url", postgres_url)
    assert result.exit_code != 0 and said in result.output, result.output
    assert_nothing_published(app)
    with psycopg.connect(postgres_url) as conn:  # the read-only transaction left the table as it was
        assert conn.execute(f'SELECT count(*) FROM "{schema}"."{TABLE}"').fetchone()[0] == 2


def test_a_refused_connection_is_said(make_app, tmp_path):
    app = make_app()
    result = publish(app, "--from-postgis", "public.redline", "--source-url", f"postgresql://postgres@/zoning?host={tmp_path}")
    assert result.exit_code != 0 and "无法连接 PostGIS 数据库" in result.output
    assert_nothing_published(app)


def test_exactly_one_source(make_app, monkeypatch):
    app = make_app()
    monkeypatch.delenv("ZONING_DATABASE_URL", raising=False)
    monkeypatch.setitem(app.extensions["services"].config, "DATABASE_URL", None)
    neither = app.test_cli_runner().invoke(args=["layers", "publish", "--district", "500111", "--kind", "redline", "--yes"])
    both = publish(app, str(OFFICIAL), "--from-postgis", "public.redline", "--source-url", "postgresql://x@/y")
    no_url = publish(app, "--from-postgis", "public.redline")
    for result in (neither, both):
        assert result.exit_code != 0 and "二者只能选一" in result.output and "exactly one layer source" in result.output
    assert no_url.exit_code != 0 and "未给出 PostGIS 连接" in no_url.output
    assert_nothing_published(app)
