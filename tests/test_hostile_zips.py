"""Zip members that cannot be read — a bad CRC, the encrypted flag, Deflate64 (method 9, which Python's zipfile does
not read) — are a 400 naming the member, in a zipped Shapefile and in a KMZ, never a 500. Made here from a valid
archive by changing the bytes the zip format defines (APPNOTE 4.3.7 local header, 4.3.12 central directory)."""
import io
import struct
import zipfile

import pytest

from conftest import ROOT

GOOD = (ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip").read_bytes()


def _headers(raw: bytes):
    z = zipfile.ZipFile(io.BytesIO(raw))
    central, at = [], raw.find(b"PK\x01\x02")
    while at != -1:
        central.append(at)
        at = raw.find(b"PK\x01\x02", at + 4)
    return z.infolist(), central


def bad_crc(raw: bytes) -> bytes:
    info = zipfile.ZipFile(io.BytesIO(raw)).infolist()[0]
    out = bytearray(raw)
    out[info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 5] ^= 0xFF
    return bytes(out)


def encrypted(raw: bytes) -> bytes:
    out = bytearray(raw)
    infos, central = _headers(raw)
    for i in infos:
        out[i.header_offset + 6] |= 1  # general purpose flag bit 0
    for at in central:
        out[at + 8] |= 1
    return bytes(out)


def deflate64(raw: bytes) -> bytes:
    out = bytearray(raw)
    infos, central = _headers(raw)
    for i in infos:
        struct.pack_into("<H", out, i.header_offset + 8, 9)
    for at in central:
        struct.pack_into("<H", out, at + 10, 9)
    return bytes(out)


def as_kmz(raw_zip_maker) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Point>'
                              "<coordinates>105.7,29.7</coordinates></Point></Placemark>" + " " * 2000 + "</kml>")
    return raw_zip_maker(buf.getvalue())


@pytest.mark.parametrize("spoil", [bad_crc, encrypted, deflate64])
def test_unreadable_members_are_400(client, spoil):
    for name, data in (("site.zip", spoil(GOOD)), ("site.kmz", as_kmz(spoil))):
        resp = client.post("/api/screen", data={"file": (io.BytesIO(data), name)})
        body = resp.get_json()
        assert resp.status_code == 400, (name, body)
        assert body["error"] and body["error_en"]
    assert client.get("/healthz").status_code == 200
