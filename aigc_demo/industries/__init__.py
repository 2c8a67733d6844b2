"""Industry plugins: the code behind the scenario files, loaded once, explicitly, at start-up.

Every module of this package is a plugin. Importing it registers its compute steps (what a
YAML's ``compute:`` names) and parsers (``parse:``), each in one call together with the panels
it shows (:func:`aigc_demo.scenarios.register_compute`, :func:`aigc_demo.scenarios.register_parser`).
So an industry with computed figures is one YAML file under ``assets/scenarios`` and one
module here, and :func:`load_scenarios` finds both: it imports every module, then loads the
files, whose loader checks every name they use.

Importing this package alone registers nothing. Everything here is standard library (plus
PyYAML): no model library, no Gradio.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from aigc_demo import scenarios
from aigc_demo.scenarios import Scenario


def load_plugins() -> list[str]:
    """Import every module of this package (a module registers its steps on its first import
    only); returns their names."""
    return [importlib.import_module(f"{__name__}.{info.name}").__name__ for info in pkgutil.iter_modules(__path__)]


def load_scenarios(folder: str | Path | None = None) -> list[Scenario]:
    """The start-up entry: register the plugins, then load and check every scenario file in
    ``folder`` (default ``assets/scenarios``)."""
    load_plugins()
    return scenarios.load_scenarios(folder)


def load_scenario(path: str | Path) -> Scenario:
    """Register the plugins, then load and check one scenario file."""
    load_plugins()
    return scenarios.load_scenario(path)
