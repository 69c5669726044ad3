"""OGC API – Processes: process descriptions, execution (sync and async) and jobs."""
from __future__ import annotations

CONFORMANCE: list[str] = []


def openapi_paths() -> dict:
    return {}


def openapi_components() -> dict:
    return {}
