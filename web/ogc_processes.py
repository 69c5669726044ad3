"""OGC API – Processes routes under /ogcapi: each calls one function of services/ogc_processes.py."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ogc_processes", __name__, url_prefix="/ogcapi")
