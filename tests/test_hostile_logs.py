"""What an upload says is not copied into the log or the answer at length: an 8 MB SRS definition in a Shapefile's
.prj is refused with a short message, and the log of the request stays small."""
import io
import logging
import zipfile

import geopandas as gpd
import shapely


def shapefile_zip_with_prj(tmp_path, prj: str) -> bytes:
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(105.7, 29.7, 105.71, 29.71)], crs=4490).to_file(tmp_path / "s.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for ext in ("shp", "shx", "dbf"):
            z.write(tmp_path / f"s.{ext}", f"s.{ext}")
        z.writestr("s.prj", prj)
    return buf.getvalue()


def test_a_huge_srs_definition_is_refused_briefly_and_not_logged(make_app, tmp_path, caplog, capfd):
    name = "红线" * 4_000_000  # 8 M characters of datum name
    prj = f'GEOGCS["{name}",DATUM["D",SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]'
    client = make_app(MAX_UNPACKED_MB=100).test_client()
    with caplog.at_level(logging.DEBUG):
        resp = client.post("/api/screen", data={"file": (io.BytesIO(shapefile_zip_with_prj(tmp_path, prj)), "site.zip")})
    assert 400 <= resp.status_code < 500 and len(resp.data) < 4_000
    out, err = capfd.readouterr()
    logged = sum(len(r.getMessage()) for r in caplog.records) + len(out) + len(err)
    assert logged < 20_000 and "红线红线红线红线" not in caplog.text + out + err
