"""YAML reading through libyaml when PyYAML has it (about 10x faster than the pure-Python
parser; the app reads its catalogue, presets and scenario files at start-up), else PyYAML's own."""

from __future__ import annotations

from typing import Any

import yaml

# The C parser with PyYAML's safe constructors; the same documents load to the same data.
SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(stream: Any) -> Any:
    """``yaml.safe_load`` with the fastest safe loader available."""
    return yaml.load(stream, Loader=SafeLoader)
