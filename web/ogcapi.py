"""OGC API – Features routes under /ogcapi (landing page, conformance, API definition, collections,
items): each calls one function of services/ogc_features.py and returns its data as JSON or HTML."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ogcapi", __name__, url_prefix="/ogcapi")
