"""The OpenAPI description served at /api/openapi.json: data/openapi.yaml with the vocabulary's
words filled in from the vocabulary the deployment runs with, so a kind or status added through
VOCABULARY is described without editing the YAML (the shipped YAML equals the shipped words: a
test checks it)."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from geo.vocabulary import Vocabulary
from services.config import ROOT

OPENAPI_PATH = Path(ROOT) / "data" / "openapi.yaml"

# components/schemas name → the vocabulary words its enum holds
VOCABULARY_ENUMS = {
    "LayerKindKey": lambda v: list(v.kinds),
    "Relation": lambda v: list(v.relations),
    "ShareStatus": lambda v: [s["label"] for s in v.statuses["share"].values()],
    "TargetStatus": lambda v: [s["label"] for s in v.statuses["target"].values()],
    "VerdictLevel": lambda v: [s["label"] for s in v.statuses["verdict"].values()],
    "DataStatusWord": lambda v: [s["label"] for s in v.statuses["data"].values()],
    "MonitoringLevel": lambda v: list(v.levels),
}


def shipped() -> dict:
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


def api_description(vocab: Vocabulary) -> dict:
    spec = copy.deepcopy(shipped())
    schemas = spec["components"]["schemas"]
    for name, words in VOCABULARY_ENUMS.items():
        if name in schemas:
            schemas[name]["enum"] = words(vocab)
    return spec
