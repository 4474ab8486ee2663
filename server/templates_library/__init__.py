"""Industry template library (模板库): complete card products shipped as JSON data, one file per template.

A merchant picks a template and overrides its ``defaults``; every template validates without errors.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def _templates_by_code() -> dict[str, dict[str, Any]]:
    """Read the data files once per process, in file-name order."""
    data = files(__name__).joinpath("data")
    documents = sorted((entry for entry in data.iterdir() if entry.name.endswith(".json")), key=str)
    templates = [json.loads(entry.read_text(encoding="utf-8")) for entry in documents]
    return {template["code"]: template for template in templates}


def load_templates() -> list[dict[str, Any]]:
    """Every template as ``{code, industry, industry_name, name, kind, description, defaults}``.

    Copies, so a caller merging overrides into ``defaults`` cannot change the cached library."""
    return [copy.deepcopy(template) for template in _templates_by_code().values()]


def get_template(code: str) -> dict[str, Any] | None:
    """One template by code (a copy), or None for an unknown code or one that is not a string."""
    template = _templates_by_code().get(code) if isinstance(code, str) else None
    return copy.deepcopy(template) if template is not None else None
